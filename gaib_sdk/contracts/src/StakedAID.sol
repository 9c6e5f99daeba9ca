// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC7540Operator, IERC7540Redeem, IERC7575Share} from "./IERC7540.sol";

/// @notice The part of AIDollar that sAID consults: its deny list, and its stablecoin reserve for the
///         optional per-cycle cap on exits.
interface IAIDollarView {
    function isDenied(address account) external view returns (bool);

    function reserve() external view returns (uint256);

    function SCALE() external view returns (uint256);
}

/// @title RedeemEscrow
/// @notice Holds the AID that sAID's withdrawal cycles have set aside for filled exit requests, apart from
///         the vault's own balance: it is out of totalAssets, earns nothing, and a realized loss (which burns
///         AID held by the vault) cannot reach it. Only the vault that created it can release it.
contract RedeemEscrow {
    using SafeERC20 for IERC20;

    address public immutable vault;
    IERC20 public immutable aid;

    error OnlyVault(address caller);

    constructor(IERC20 aid_) {
        vault = msg.sender;
        aid = aid_;
    }

    function release(address to, uint256 amount) external {
        if (msg.sender != vault) revert OnlyVault(msg.sender);
        aid.safeTransfer(to, amount);
    }
}

/// @title StakedAID (sAID)
/// @notice ERC-4626 vault on AID. Deal income is paid in by a rewarder (the CreditFacility) and vests
///         linearly over `vestingPeriod`, so the share price rises smoothly with deal income and a deposit
///         made just before a distribution gains nothing from it (Ethena's StakedUSDeV2 design).
/// @dev totalAssets() is the AID held, less income that has not vested yet, less the facility's writedown
///      (the markdown of impaired and defaulted deals not realized yet), floored at 0: the share price is a
///      fair value, and an impairment lowers it in the block it is recorded.
///      Each distribution vests on its own schedule (a tranche), so nobody can delay income already paid in
///      by paying in more: a distribution whose end falls in the newest tranche's bucket (vestingPeriod/8)
///      merges into it exactly, to that tranche's end (two linear schedules to the same end are one linear
///      schedule from now), so at most 9 tranches are live at any time.
///      Inflation attack: the first deposit burns DEAD_SHARES to a dead address, so the share supply never
///      returns to zero and a donation to the vault is shared with shares nobody can redeem: to round a
///      victim's deposit V down to nothing an attacker must donate about V * DEAD_SHARES / (his own
///      shares), most of which the dead shares keep. While no shares exist the vault converts 1:1.
///      AID's deny list holds for sAID too: a denied account can neither move nor redeem shares, nor move
///      anyone's as a spender or operator, nor receive a claim.
///      sAID is first-loss capital: a realized deal loss burns AID held here (AIDollar.realizeLoss).
///
///      Exit is asynchronous, through ERC-7540's redeem-request interface (operators, requestRedeem,
///      pending/claimable views; redeem and withdraw CLAIM). A holder (or its operator, or a spender with an
///      ERC-20 allowance) calls requestRedeem: the shares leave its balance and join the open ROUND, whose id
///      is the request id. Requests are fungible within a round (ERC-7540): they are filled together, at the
///      same price and by the same fraction, and one controller's requests in one round are one request. The
///      withdrawal manager processes the queue once per cycle (30 days by default): the processing closes the
///      open round (requests made from then on wait for the next cycle) and fills the closed rounds, oldest
///      first, at the share price of that moment; the filled shares are burned and the AID they are worth
///      moves to the RedeemEscrow, where it no longer earns income or bears loss. Pending shares stay in
///      totalSupply and keep earning and bearing loss until filled.
///      FIFO between rounds, pro-rata within one: an older round is filled before a newer one is touched, and
///      when the per-cycle cap cuts a round every request in it gets the same fraction, the rest rolling over,
///      first in line, to the next cycle. Nobody gains by asking for more than he wants: what is not filled is
///      never returned, it stays requested; and the gas of a processing grows with the rounds waiting, not
///      with the requests in them.
///      Storage, for gas: each account's share balance and its open request (shares, round) share one slot
///      (the ERC-20 balances are this contract's own, the rest of ERC-20 is OpenZeppelin's), a round is two
///      slots written by the processing (shares requested; shares filled and AID set aside, cumulative over
///      the processings that filled it), the queue two packed slots. A holder's part of a round is its
///      shares' fraction of the round's cumulative fills, rounded down, so the parts never add up to more
///      than was set aside. A second request while an older round's request is filled and not claimed folds
///      that one into a per-controller overflow slot; while it is still pending, the request is refused
///      (RequestPending): a controller waits in one round at a time.
///      Liquidity: all AID in the vault is liquid; what limits exits is the USDC reserve behind AID, so an
///      optional per-cycle cap (cycleCapBps of AIDollar.reserve(), off when 0) bounds the AID released in one
///      cycle; what the cap or the gas limit leaves unfilled rolls over, still first in line, to the next cycle.
///      Claims are pulled by the controller or its operator: redeem(shares) and withdraw(assets) pay from
///      what the controller's filled requests set aside, at their average fill price, rounding down.
contract StakedAID is ERC4626, AccessControl, Pausable, IERC7540Operator, IERC7540Redeem, IERC7575Share {
    using Math for uint256;
    using SafeERC20 for IERC20;

    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");
    uint256 public constant DEAD_SHARES = 1e6;
    address public constant DEAD = 0x000000000000000000000000000000000000dEaD;
    uint256 public constant MAX_VESTING_PERIOD = 30 days;
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant WITHDRAWAL_MANAGER_ROLE = keccak256("WITHDRAWAL_MANAGER_ROLE");
    uint256 public constant DEFAULT_CYCLE_LENGTH = 30 days;
    uint256 public constant MIN_CYCLE_LENGTH = 1 hours;
    uint256 public constant MAX_CYCLE_LENGTH = 365 days;
    uint256 private constant BPS = 10_000;

    // The state every deposit reads, declared first so that it shares one slot with Pausable's `_paused`
    // (declared just before it): whenNotPaused, the under-water check and totalAssets cost one cold read.
    /// @notice Live tranches are [trancheHead, trancheTail), oldest first (ends ascending).
    uint64 public trancheHead;
    uint64 public trancheTail;
    /// @notice AID of deal markdowns not realized yet: subtracted from totalAssets.
    uint120 public writedown;

    uint256 public vestingPeriod;
    /// @notice When income (or a markdown written back) last started vesting.
    uint256 public lastDistribution;

    /// @notice One distribution vesting linearly from `start` to `end` (`amount` unvested at `start`).
    struct Tranche {
        uint128 amount;
        uint64 start;
        uint64 end;
    }

    mapping(uint256 => Tranche) public tranches;

    // ---- asynchronous exit (ERC-7540) ----

    /// @notice Holds the AID set aside for filled requests (out of totalAssets, out of loss's reach).
    RedeemEscrow public immutable escrow;

    /// @dev An account's share balance and its open exit request as controller, in one slot: a first exit
    ///      writes no fresh slot. `overflow`: the controller's _overflow slot is not empty.
    struct Account {
        uint128 balance;
        uint96 requestShares;
        uint24 round;
        bool overflow;
    }

    /// @notice A closed round, one slot: the shares requested in it, whether it is completely filled, and the
    ///         AID set aside for it so far (cumulative: a round the cap cut is filled over several
    ///         processings, each at its own price). How much of the head round is filled is `headFilled`.
    struct Round {
        uint120 shares;
        bool full;
        uint128 assets;
    }

    /// @dev What a controller may claim beyond its packed request: shares and AID of earlier rounds folded in
    ///      when it requested again, less what it claimed of its packed request's round (so either may be
    ///      negative; with the packed request's fills added, both are >= 0).
    struct Overflow {
        int128 shares;
        int128 assets;
    }

    mapping(address account => Account) private _accounts;
    uint256 private _supply;

    // The queue in two slots: requestRedeem writes the first, processCycle both.
    /// @notice The round taking requests; the shares requested in it; shares requested and not filled yet,
    ///         over all rounds (they stay in totalSupply and are reported as the vault's balance).
    uint24 public openRound;
    uint112 public openRoundShares;
    uint120 public totalPendingShares;
    /// @notice Closed rounds [queueHead, openRound) are not completely filled yet; `headFilled` shares of
    ///         the head round are.
    uint24 public queueHead;
    uint32 public currentCycle;
    /// @notice A processing cut short by its `maxRequests` bound: the next call goes on with it.
    bool public cycleInProgress;
    uint120 public headFilled;
    /// @notice AID the cycle under way may still release.
    uint256 public cycleBudget;
    uint256 public cycleLength;
    uint256 public nextCycleAt;
    uint256 public cycleCapBps;
    mapping(uint256 round => Round) public rounds;
    mapping(address controller => mapping(address operator => bool)) public isOperator;
    mapping(address controller => Overflow) private _overflow;

    /// @notice Round `requestId` was filled by `shares` (and `assets` AID set aside) at this processing;
    ///         `pending` of its shares wait for the next cycle.
    event RedeemFilled(uint256 indexed requestId, uint256 shares, uint256 assets, uint256 pending);
    event CycleProcessed(uint256 indexed cycle, uint256 shares, uint256 assets, bool closed, uint256 nextCycleAt);
    event CycleSet(uint256 cycleLength, uint256 cycleCapBps, uint256 nextCycleAt);

    event RewardsReceived(uint256 amount, uint256 vesting, uint256 period);
    event VestingPeriodSet(uint256 period);
    event LossAbsorbed(uint256 aidBurned, uint256 fromUnvested);
    event MarkedDown(uint256 amount, uint256 fromUnvested, uint256 writedown);
    event MarkedUp(uint256 amount, uint256 writedown);
    event MarkdownRealized(uint256 released, uint256 aidBurned, uint256 fromUnvested, uint256 vestingBack);

    error FirstDepositTooSmall(uint256 shares, uint256 minimum);
    error AccountDenied(address account);
    error VaultUnderWater(uint256 writedown);
    error VestingPeriodTooLong(uint256 period, uint256 max);
    error AsyncRedeem();
    error ZeroShares();
    error ZeroAmount();
    error NotAuthorized(address caller, address account);
    error CycleNotDue(uint256 nextCycleAt, uint256 now_);
    error BadCycle(uint256 cycleLength, uint256 cycleCapBps);
    error ExceedsClaimable(address controller, uint256 requested, uint256 claimable);
    error WritedownUnderflow(uint256 amount, uint256 writedown);
    /// @notice `controller` still has `pending` shares waiting in round `requestId`: it may request again
    ///         once that round is filled (a controller waits in one round at a time).
    error RequestPending(address controller, uint256 requestId, uint256 pending);

    constructor(address admin, IERC20 aid, uint256 vestingPeriod_) ERC20("Staked AI Dollar", "sAID") ERC4626(aid) {
        if (vestingPeriod_ > MAX_VESTING_PERIOD) revert VestingPeriodTooLong(vestingPeriod_, MAX_VESTING_PERIOD);
        vestingPeriod = vestingPeriod_;
        escrow = new RedeemEscrow(aid);
        cycleLength = DEFAULT_CYCLE_LENGTH;
        nextCycleAt = block.timestamp + DEFAULT_CYCLE_LENGTH;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit VestingPeriodSet(vestingPeriod_);
        emit CycleSet(DEFAULT_CYCLE_LENGTH, 0, nextCycleAt);
    }

    // ---- income ----

    /// @notice Pay `amount` AID of income into the vault, to vest over `vestingPeriod` on its own schedule.
    function transferInRewards(uint256 amount) external onlyRole(REWARDER_ROLE) {
        _addTranche(amount);
        IERC20(asset()).safeTransferFrom(msg.sender, address(this), amount);
        emit RewardsReceived(amount, unvestedAmount(), vestingPeriod);
    }

    /// @notice Income not vested yet, summed over the live tranches (each rounded up: never counted early).
    function unvestedAmount() public view returns (uint256 total) {
        uint256 tail = trancheTail;
        for (uint256 i = trancheHead; i < tail; ++i) {
            total += _unvested(tranches[i]);
        }
    }

    /// @notice Live tranches (oldest first), for views: their start, end and unvested AID now.
    function vestingSchedule() external view returns (Tranche[] memory live) {
        uint256 head = trancheHead;
        live = new Tranche[](trancheTail - head);
        for (uint256 i = 0; i < live.length; ++i) {
            Tranche memory t = tranches[head + i];
            live[i] = Tranche(uint128(_unvested(t)), t.start, t.end);
        }
    }

    /// @notice A realized loss burned `aidBurned` of the vault's AID: it is taken from income that has not
    ///         vested yet first (newest first), so the loss never leaves AID vesting to holders that the
    ///         vault no longer has (which would hand what vests next to the next depositor).
    function absorbLoss(uint256 aidBurned) external onlyRole(REWARDER_ROLE) {
        emit LossAbsorbed(aidBurned, _cutUnvested(aidBurned));
    }

    /// @notice The facility marks its loans down by `amount` AID (an impairment, a default): the share price
    ///         falls now by `amount` less the unvested income that absorbs it first.
    function markDown(uint256 amount) external onlyRole(REWARDER_ROLE) {
        uint256 cut = _cutUnvested(amount);
        // The whole markdown is written down; the unvested income it cut now counts as vested, so the
        // price falls by amount - cut, as a realized loss of the same size would make it.
        writedown = SafeCast.toUint120(writedown + amount);
        emit MarkedDown(amount, cut, writedown);
    }

    /// @notice A markdown of `amount` AID is written back (a cure, a transfer to a new operator): it vests
    ///         back over `vestingPeriod`, not at once, so nobody can trade on the cure.
    function markUp(uint256 amount) external onlyRole(REWARDER_ROLE) {
        uint256 wd = writedown;
        if (amount > wd) revert WritedownUnderflow(amount, wd);
        writedown = uint120(wd - amount);
        _vestBack(amount);
        emit MarkedUp(amount, wd - amount);
    }

    /// @notice A marked-down deal is realized: its markdown `released` leaves the writedown and the loss
    ///         actually realized burned `aidBurned` of the vault's AID. A loss above the markdown is absorbed
    ///         by unvested income first; a loss below it comes back through vesting.
    function realizeMarkdown(uint256 released, uint256 aidBurned) external onlyRole(REWARDER_ROLE) {
        uint256 wd = writedown;
        if (released > wd) revert WritedownUnderflow(released, wd);
        writedown = uint120(wd - released);
        uint256 cut = 0;
        uint256 back = 0;
        if (aidBurned > released) cut = _cutUnvested(aidBurned - released);
        else if (released > aidBurned) back = _vestBack(released - aidBurned);
        emit MarkdownRealized(released, aidBurned, cut, back);
    }

    /// @notice Admin: a new vesting period. What is unvested vests under it from now, in one tranche, so
    ///         nothing vests retroactively.
    function setVestingPeriod(uint256 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (period > MAX_VESTING_PERIOD) revert VestingPeriodTooLong(period, MAX_VESTING_PERIOD);
        uint256 pending = unvestedAmount();
        trancheHead = trancheTail;
        vestingPeriod = period;
        _addTranche(pending);
        emit VestingPeriodSet(period);
    }

    // ---- asynchronous exit (ERC-7540) ----

    /// @notice Let `operator` request and claim redemptions for the caller (or stop it).
    function setOperator(address operator, bool approved) external returns (bool) {
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @notice Take `shares` from `owner`'s balance into the open round, to be filled at the next processing;
    ///         `controller` claims the AID once filled. Returns the round's id (ERC-7540: requests with the
    ///         same id are fungible). The caller must be `owner`, its operator, or hold an allowance.
    /// @dev The deny list: owner always; the caller and the controller when they are other accounts. A
    ///      controller's requests in one round merge (at most 2**96 - 1 shares: SafeCast). A controller whose
    ///      request of an older round is filled and not claimed keeps it (folded into its overflow slot); one
    ///      whose older request still waits is refused (RequestPending): it waits in one round at a time.
    function requestRedeem(uint256 shares, address controller, address owner)
        external
        whenNotPaused
        returns (uint256 requestId)
    {
        if (shares == 0) revert ZeroShares();
        if (msg.sender != owner) {
            if (isOperator[owner][msg.sender]) _checkNotDenied(msg.sender);
            else _spendAllowance(owner, msg.sender, shares); // refuses a denied spender
        }
        if (controller != owner && controller != msg.sender) _checkNotDenied(controller);
        _checkNotDenied(owner);
        Account memory from = _accounts[owner];
        if (from.balance < shares) revert ERC20InsufficientBalance(owner, from.balance, shares);
        from.balance -= uint128(shares); // shares <= balance
        requestId = openRound;
        if (controller == owner) {
            _addRequest(from, controller, shares, requestId);
            _accounts[owner] = from;
        } else {
            _accounts[owner].balance = from.balance;
            Account memory c = _accounts[controller];
            _addRequest(c, controller, shares, requestId);
            _accounts[controller] = c;
        }
        openRoundShares = SafeCast.toUint112(openRoundShares + shares);
        totalPendingShares = SafeCast.toUint120(totalPendingShares + shares);
        emit Transfer(owner, address(this), shares); // the pending shares are the vault's balance
        emit RedeemRequest(controller, owner, requestId, msg.sender, shares);
    }

    /// @notice Shares of `controller`'s request in round `requestId` still waiting to be filled.
    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        Account memory c = _accounts[controller];
        if (c.requestShares == 0 || c.round != requestId) return 0;
        (uint256 filled, , ) = _filled(c.requestShares, c.round);
        return c.requestShares - filled;
    }

    /// @notice Shares of `controller`'s request in round `requestId` filled and not claimed yet. Claims use
    ///         the shares of earlier rounds folded into the overflow first; those are in maxRedeem only.
    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        Account memory c = _accounts[controller];
        if (c.requestShares == 0 || c.round != requestId) return 0;
        (uint256 filled, , ) = _filled(c.requestShares, c.round);
        (uint256 shares, ) = _claimable(c, controller, filled, 0);
        return shares < filled ? shares : filled;
    }

    /// @notice `controller`'s request: its round (the request id), its shares and those still pending
    ///         (shares 0: none).
    function redeemRequestOf(address controller)
        external
        view
        returns (uint256 requestId, uint256 shares, uint256 pending)
    {
        Account memory c = _accounts[controller];
        (uint256 filled, , ) = _filled(c.requestShares, c.round);
        return (c.round, c.requestShares, c.requestShares - filled);
    }

    /// @notice Rounds waiting: the closed rounds not completely filled, and the open one if it has requests.
    function queueLength() external view returns (uint256) {
        return openRound - queueHead + (openRoundShares > 0 ? 1 : 0);
    }

    /// @notice Close the open round and fill the closed rounds, oldest first, at the current share price:
    ///         burn their shares and move the AID they are worth to the escrow. Callable once the cycle is
    ///         due; a processing that the bound `maxRequests` (rounds filled) cuts short stays open (call
    ///         again); one that fills every closed round or spends this cycle's cap closes the cycle, and the
    ///         next one is due `cycleLength` later. The cap cuts a round pro-rata: the rest rolls over.
    function processCycle(uint256 maxRequests)
        external
        onlyRole(WITHDRAWAL_MANAGER_ROLE)
        whenNotPaused
        returns (uint256 sharesFilled, uint256 assetsSetAside)
    {
        if (block.timestamp < nextCycleAt) revert CycleNotDue(nextCycleAt, block.timestamp);
        uint256 open = openRound;
        bool resumed = cycleInProgress;
        uint256 budget = resumed ? cycleBudget : cycleCap();
        if (!resumed) {
            uint256 requested = openRoundShares;
            if (requested > 0) {
                // close the open round: requests made from now on wait for the next cycle
                rounds[open].shares = uint120(requested); // openRoundShares is a uint112
                openRound = SafeCast.toUint24(++open);
                openRoundShares = 0;
            }
        }
        Pass memory p = Pass(totalAssets(), _supply, budget, queueHead, headFilled, 0, 0);
        bool more = _fillRounds(p, maxRequests);
        (sharesFilled, assetsSetAside) = (p.shares, p.assets);
        queueHead = uint24(p.head);
        headFilled = uint120(p.headFilled);
        cycleInProgress = more;
        if (more) cycleBudget = p.budget;
        else if (resumed) cycleBudget = 0;
        if (sharesFilled > 0) {
            totalPendingShares -= uint120(sharesFilled);
            _supply -= sharesFilled;
            emit Transfer(address(this), address(0), sharesFilled);
        }
        if (assetsSetAside > 0) IERC20(asset()).safeTransfer(address(escrow), assetsSetAside);
        uint256 cycle = currentCycle;
        if (!more) {
            currentCycle = uint32(cycle + 1);
            nextCycleAt = block.timestamp + cycleLength;
        }
        emit CycleProcessed(cycle, sharesFilled, assetsSetAside, !more, nextCycleAt);
    }

    /// @notice The most AID one cycle may release: cycleCapBps of AID's stablecoin reserve, in AID; no
    ///         limit when the cap is off (0).
    function cycleCap() public view returns (uint256) {
        if (cycleCapBps == 0) return type(uint256).max;
        IAIDollarView aid = IAIDollarView(asset());
        return aid.reserve().mulDiv(cycleCapBps * aid.SCALE(), BPS);
    }

    /// @notice Claim: burn nothing more (the shares were burned when filled) and pay `controller`'s
    ///         set-aside AID for `shares` of its filled requests to `receiver`. ERC-7540 semantics.
    function redeem(uint256 shares, address receiver, address controller) public override returns (uint256 assets) {
        _checkController(controller, receiver);
        if (shares == 0) revert ZeroShares();
        Account memory c = _accounts[controller];
        (uint256 filled, uint256 owed, bool full) = _filled(c.requestShares, c.round);
        if (full && !c.overflow && shares == filled) {
            assets = owed; // all of one filled request: the common path, no other slot
            c.requestShares = 0;
            c.round = 0;
        } else {
            (uint256 claimable, uint256 claimableAssets) = _claimable(c, controller, filled, owed);
            if (shares > claimable) revert ExceedsClaimable(controller, shares, claimable);
            assets = shares == claimable
                ? claimableAssets
                : claimableAssets.mulDiv(shares, claimable, Math.Rounding.Floor);
            _settle(c, controller, shares, assets, full && shares == claimable && assets == claimableAssets);
        }
        _accounts[controller] = c;
        _pay(controller, receiver, shares, assets);
    }

    /// @notice Claim `assets` AID of `controller`'s filled requests, paid to `receiver`; returns the shares
    ///         of its requests that this uses up (rounded up).
    function withdraw(uint256 assets, address receiver, address controller) public override returns (uint256 shares) {
        _checkController(controller, receiver);
        if (assets == 0) revert ZeroAmount();
        Account memory c = _accounts[controller];
        (uint256 filled, uint256 owed, bool full) = _filled(c.requestShares, c.round);
        if (full && !c.overflow && assets == owed) {
            shares = filled;
            c.requestShares = 0;
            c.round = 0;
        } else {
            (uint256 claimable, uint256 claimableAssets) = _claimable(c, controller, filled, owed);
            if (assets > claimableAssets) revert ExceedsClaimable(controller, assets, claimableAssets);
            shares = assets == claimableAssets
                ? claimable
                : claimable.mulDiv(assets, claimableAssets, Math.Rounding.Ceil);
            _settle(c, controller, shares, assets, full && shares == claimable && assets == claimableAssets);
        }
        _accounts[controller] = c;
        _pay(controller, receiver, shares, assets);
    }

    /// @notice Filled shares `controller` may claim now (0 for a deny-listed controller, whose claim reverts).
    function maxRedeem(address controller) public view override returns (uint256 shares) {
        if (IAIDollarView(asset()).isDenied(controller)) return 0;
        Account memory c = _accounts[controller];
        (uint256 filled, uint256 owed, ) = _filled(c.requestShares, c.round);
        (shares, ) = _claimable(c, controller, filled, owed);
    }

    /// @notice AID `controller` may claim now (0 for a deny-listed controller).
    function maxWithdraw(address controller) public view override returns (uint256 assets) {
        if (IAIDollarView(asset()).isDenied(controller)) return 0;
        Account memory c = _accounts[controller];
        (uint256 filled, uint256 owed, ) = _filled(c.requestShares, c.round);
        (, assets) = _claimable(c, controller, filled, owed);
    }

    /// @notice Shares held by `account`; the vault's own balance includes the shares pending in the queue.
    function balanceOf(address account) public view override(ERC20, IERC20) returns (uint256) {
        uint256 own = _accounts[account].balance;
        return account == address(this) ? own + totalPendingShares : own;
    }

    /// @notice All shares, those pending in the queue included (they earn and bear loss until filled).
    function totalSupply() public view override(ERC20, IERC20) returns (uint256) {
        return _supply;
    }

    /// @dev ERC-7540: the price of an asynchronous exit is not known in advance, so previews revert.
    function previewRedeem(uint256) public pure override returns (uint256) {
        revert AsyncRedeem();
    }

    function previewWithdraw(uint256) public pure override returns (uint256) {
        revert AsyncRedeem();
    }

    /// @notice The markdowns of deals not yet realized exceed what the vault holds, so its shares are priced
    ///         at 0 while a recovery (a sale, a cure) is still to come. A deposit now would buy almost the
    ///         whole vault, that recovery included, for next to nothing: deposits wait until the markdown is
    ///         realized or written back.
    function underWater() public view returns (bool) {
        return writedown > 0 && totalSupply() > 0 && totalAssets() == 0;
    }

    /// @notice 0 while paused, under water, or for a deny-listed receiver, as a deposit would fail.
    ///         Otherwise what the shares the 128-bit balances still hold are worth: 0 while a loss has
    ///         wiped the vault out (shares, no assets), when a deposit would mint about
    ///         `assets * totalSupply` shares.
    function maxDeposit(address receiver) public view override returns (uint256) {
        if (paused() || underWater() || IAIDollarView(asset()).isDenied(receiver)) return 0;
        return _convertToAssets(type(uint128).max - totalSupply(), Math.Rounding.Floor);
    }

    /// @notice As maxDeposit; at most the shares the 128-bit balances still hold.
    function maxMint(address receiver) public view override returns (uint256) {
        if (paused() || underWater() || IAIDollarView(asset()).isDenied(receiver)) return 0;
        return type(uint128).max - totalSupply();
    }

    /// @dev Paused, under water or deny-listed: say so (EnforcedPause, VaultUnderWater, AccountDenied) rather
    ///      than ERC4626ExceededMaxDeposit. maxDeposit is not asked again: these are the only limits it has.
    ///      The caller is checked here (a clear error before the AID moves); the receiver as the shares are
    ///      minted to it (_update).
    function deposit(uint256 assets, address receiver) public override whenNotPaused returns (uint256 shares) {
        _checkCanDeposit();
        shares = previewDeposit(assets);
        _deposit(msg.sender, receiver, assets, shares);
    }

    /// @notice Deposit `assets` AID for `receiver` with the caller's EIP-2612 permit for this vault, in one
    ///         transaction instead of an approve and a deposit.
    /// @dev The permit is tried, not required: if someone sent the same signature first (it is public once in
    ///      the mempool), the allowance it set is there and the deposit goes on; a permit that is invalid,
    ///      replayed or another owner's sets nothing, and the deposit then fails on the transfer unless the
    ///      caller's own allowance covers it. The vault only ever pulls AID from the caller.
    function depositWithPermit(uint256 assets, address receiver, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256)
    {
        try IERC20Permit(asset()).permit(msg.sender, address(this), assets, deadline, v, r, s) {} catch {}
        return deposit(assets, receiver);
    }

    function mint(uint256 shares, address receiver) public override whenNotPaused returns (uint256 assets) {
        _checkCanDeposit();
        assets = previewMint(shares);
        _deposit(msg.sender, receiver, assets, shares);
    }

    function _checkCanDeposit() private view {
        if (underWater()) revert VaultUnderWater(writedown);
        if (IAIDollarView(asset()).isDenied(msg.sender)) revert AccountDenied(msg.sender);
    }

    function share() external view returns (address) {
        return address(this);
    }

    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IERC7540Operator).interfaceId || interfaceId == type(IERC7540Redeem).interfaceId
            || interfaceId == type(IERC7575Share).interfaceId || super.supportsInterface(interfaceId);
    }

    // ---- administration ----

    /// @notice Cycle length (seconds) and the per-cycle cap (basis points of AID's reserve; 0 = no cap).
    ///         The next cycle becomes due `length` after the last processing (or from now, if sooner).
    function setCycle(uint256 length, uint256 capBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (length < MIN_CYCLE_LENGTH || length > MAX_CYCLE_LENGTH || capBps > BPS) revert BadCycle(length, capBps);
        cycleLength = length;
        cycleCapBps = capBps;
        uint256 due = block.timestamp + length;
        if (due < nextCycleAt) nextCycleAt = due;
        emit CycleSet(length, capBps, nextCycleAt);
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---- views ----

    /// @notice Fair value: AID held, less unvested income, less the writedown of deals marked down (at
    ///         least 0).
    function totalAssets() public view override returns (uint256) {
        uint256 held = IERC20(asset()).balanceOf(address(this));
        uint256 off = unvestedAmount() + writedown;
        return held > off ? held - off : 0;
    }

    /// @notice AID per whole share, 18 decimals.
    function sharePrice() external view returns (uint256) {
        return convertToAssets(10 ** decimals());
    }

    /// @dev The first depositor receives DEAD_SHARES fewer shares: previews say so, as ERC-4626 asks.
    function previewDeposit(uint256 assets) public view override returns (uint256) {
        uint256 shares = super.previewDeposit(assets);
        if (totalSupply() > 0) return shares;
        if (shares <= DEAD_SHARES) revert FirstDepositTooSmall(shares, DEAD_SHARES + 1);
        return shares - DEAD_SHARES;
    }

    function previewMint(uint256 shares) public view override returns (uint256) {
        return super.previewMint(totalSupply() > 0 ? shares : shares + DEAD_SHARES);
    }

    // ---- internals ----

    function _convertToShares(uint256 assets, Math.Rounding rounding) internal view override returns (uint256) {
        uint256 supply = totalSupply();
        if (supply == 0) return assets;
        uint256 total = totalAssets();
        // A vault whose assets a loss wiped out: the old shares are worth nothing, so the new deposit
        // must buy (almost) the whole vault rather than share with them (only a deposit small enough for
        // the 128-bit balances goes through: in practice, deposits wait for the vault to hold AID again).
        if (total == 0) return assets.mulDiv(supply + 1, 1, rounding);
        return assets.mulDiv(supply, total, rounding);
    }

    function _convertToAssets(uint256 shares, Math.Rounding rounding) internal view override returns (uint256) {
        uint256 supply = totalSupply();
        return supply == 0 ? shares : shares.mulDiv(totalAssets(), supply, rounding);
    }

    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (totalSupply() == 0) _mint(DEAD, DEAD_SHARES);
        super._deposit(caller, receiver, assets, shares);
    }

    /// @dev A processing's running state: the price (total / supply), the AID it may still release, the
    ///      head round and how much of it is filled, and what it filled so far.
    struct Pass {
        uint256 total;
        uint256 supply;
        uint256 budget;
        uint256 head;
        uint256 headFilled;
        uint256 shares;
        uint256 assets;
    }

    /// @dev Fill the closed rounds, oldest first, at the current share price, within `p.budget` AID and at
    ///      most `maxRequests` rounds; `more`: rounds remain and the budget is not spent.
    function _fillRounds(Pass memory p, uint256 maxRequests) private returns (bool more) {
        uint256 open = openRound;
        while (p.budget > 0 && p.head < open) {
            if (maxRequests == 0) return true;
            --maxRequests;
            if (!_fillRound(p)) break; // the cap is spent, or cut this round
        }
    }

    /// @dev Fill what is pending of round `p.head` within the budget; true if it is now completely filled
    ///      (the head moves on), false if the cap cut it (the rest rolls over, still first in line).
    function _fillRound(Pass memory p) private returns (bool) {
        Round storage r = rounds[p.head];
        uint256 pending = r.shares - p.headFilled;
        (uint256 shares, uint256 assets) = _fillAt(pending, p.total, p.supply, p.budget);
        if (shares == 0) return false;
        r.assets = SafeCast.toUint128(r.assets + assets);
        emit RedeemFilled(p.head, shares, assets, pending - shares);
        p.budget -= assets;
        p.shares += shares;
        p.assets += assets;
        if (shares < pending) {
            p.headFilled += shares;
            return false;
        }
        r.full = true;
        p.headFilled = 0;
        ++p.head;
        return true;
    }

    /// @dev `pending` shares at total/supply, or as many as `budget` AID pays for (rounded down).
    function _fillAt(uint256 pending, uint256 total, uint256 supply, uint256 budget)
        private
        pure
        returns (uint256 shares, uint256 assets)
    {
        shares = pending;
        assets = shares.mulDiv(total, supply, Math.Rounding.Floor);
        if (assets > budget) {
            shares = budget.mulDiv(supply, total, Math.Rounding.Floor);
            assets = shares.mulDiv(total, supply, Math.Rounding.Floor);
        }
    }

    /// @dev `shares` requested in `round`: the part filled and the AID set aside for it, its fraction of the
    ///      round's cumulative fills rounded down (so a round never pays out more than it set aside); `full`
    ///      once the round is completely filled. A round not closed yet has no shares recorded.
    function _filled(uint256 shares, uint256 round) private view returns (uint256 filled, uint256 assets, bool full) {
        if (shares == 0) return (0, 0, false);
        Round memory r = rounds[round];
        if (r.full) return (shares, shares.mulDiv(r.assets, r.shares, Math.Rounding.Floor), true);
        // open (no shares recorded), not reached yet, or the head round, partly filled
        if (round != queueHead) return (0, 0, false);
        uint256 done = headFilled;
        if (done == 0) return (0, 0, false);
        filled = shares.mulDiv(done, r.shares, Math.Rounding.Floor);
        assets = shares.mulDiv(r.assets, r.shares, Math.Rounding.Floor);
    }

    /// @dev What `c` (controller `controller`) may claim: its packed request's fills (`filled`, `owed`) plus
    ///      its overflow slot.
    function _claimable(Account memory c, address controller, uint256 filled, uint256 owed)
        private
        view
        returns (uint256 shares, uint256 assets)
    {
        if (!c.overflow) return (filled, owed);
        Overflow memory o = _overflow[controller];
        return (uint256(o.shares + int256(filled)), uint256(o.assets + int256(owed)));
    }

    /// @dev A claim of `shares` for `assets` that is not all of one filled request (and nothing else): the
    ///      overflow slot keeps the difference, and the request stays where it is (its views with it) until
    ///      a claim takes all that is claimable once it is completely filled (`done`).
    function _settle(Account memory c, address controller, uint256 shares, uint256 assets, bool done) private {
        if (done) {
            c.requestShares = 0;
            c.round = 0;
            if (c.overflow) delete _overflow[controller];
            c.overflow = false;
        } else {
            _addOverflow(c, controller, -int256(shares), -int256(assets));
        }
    }

    /// @dev A new request by `c`, in round `open`: merged into its request there, or, if its request is of an
    ///      older round, that one folded into the overflow once completely filled (refused before).
    function _addRequest(Account memory c, address controller, uint256 shares, uint256 open) private {
        uint256 had = c.requestShares;
        if (had != 0 && c.round != open) {
            (uint256 filled, uint256 assets, bool full) = _filled(had, c.round);
            if (!full) revert RequestPending(controller, c.round, had - filled);
            _addOverflow(c, controller, int256(filled), int256(assets));
            had = 0;
        }
        c.requestShares = SafeCast.toUint96(had + shares);
        c.round = uint24(open);
    }

    /// @dev Add to `controller`'s overflow slot; an empty one is deleted and `c.overflow` says which.
    function _addOverflow(Account memory c, address controller, int256 shares, int256 assets) private {
        Overflow memory o = c.overflow ? _overflow[controller] : Overflow(0, 0);
        shares += o.shares;
        assets += o.assets;
        if (shares == 0 && assets == 0) {
            if (c.overflow) delete _overflow[controller];
            c.overflow = false;
        } else {
            _overflow[controller] = Overflow(SafeCast.toInt128(shares), SafeCast.toInt128(assets));
            c.overflow = true;
        }
    }

    /// @dev What tranche `t` has not vested yet now, rounded up.
    function _unvested(Tranche memory t) private view returns (uint256) {
        if (block.timestamp >= t.end) return 0;
        // A clock set back before the tranche began (a development node's evm_setTime, a node restarted from
        // saved state) vests nothing yet, never more than the tranche: the views stay answerable.
        if (block.timestamp <= t.start) return t.amount;
        return uint256(t.amount).mulDiv(t.end - block.timestamp, t.end - t.start, Math.Rounding.Ceil);
    }

    /// @dev Start `amount` vesting from now to now + vestingPeriod, in a tranche of its own; or, when that end
    ///      falls in the same bucket (vestingPeriod / 8 wide) as the newest tranche's end, merged exactly into
    ///      it: the newest tranche's unvested part keeps its schedule and `amount` vests with it to its end
    ///      (up to a bucket sooner than its own). So live tranches end in distinct buckets of (now, now +
    ///      period]: at most 9. Expired tranches are dropped first. A period of 0 vests at once.
    function _addTranche(uint256 amount) private {
        uint256 head = trancheHead;
        uint256 tail = trancheTail;
        while (head < tail && tranches[head].end <= block.timestamp) delete tranches[head++];
        trancheHead = uint64(head);
        lastDistribution = block.timestamp;
        uint256 period = vestingPeriod;
        if (amount == 0 || period == 0) return;
        uint256 bucket = period >= 8 ? period / 8 : 1;
        uint256 end = block.timestamp + period;
        if (tail > head && tranches[tail - 1].end / bucket == end / bucket) {
            end = tranches[tail - 1].end;
            amount += _unvested(tranches[tail - 1]);
            tail -= 1;
        }
        tranches[tail] = Tranche(SafeCast.toUint128(amount), uint64(block.timestamp), uint64(end));
        trancheTail = uint64(tail + 1);
    }

    /// @dev Vest back up to `amount` of written-back value: only what the vault holds beyond its unvested
    ///      income and remaining writedown, so a vault that other markdowns leave under water vests back no
    ///      AID it does not have. Returns what started vesting.
    function _vestBack(uint256 amount) private returns (uint256 back) {
        uint256 held = IERC20(asset()).balanceOf(address(this));
        uint256 claimed = unvestedAmount() + writedown;
        uint256 room = held > claimed ? held - claimed : 0;
        back = amount < room ? amount : room;
        _addTranche(back);
    }

    /// @dev Take up to `amount` from unvested income, newest tranche first; returns what was taken.
    function _cutUnvested(uint256 amount) private returns (uint256 cut) {
        uint256 head = trancheHead;
        uint256 tail = trancheTail;
        while (tail > head && cut < amount) {
            Tranche storage t = tranches[tail - 1];
            uint256 left = _unvested(t);
            uint256 take = amount - cut < left ? amount - cut : left;
            cut += take;
            if (take == left) {
                delete tranches[--tail];
            } else {
                // the rest vests on to the same end, from now
                t.amount = uint128(left - take);
                t.start = uint64(block.timestamp);
            }
        }
        trancheTail = uint64(tail);
        if (tail == head) trancheHead = trancheTail = 0;
    }

    function _checkNotDenied(address account) private view {
        if (IAIDollarView(asset()).isDenied(account)) revert AccountDenied(account);
    }

    /// @dev A claim: the caller is the controller or its operator, and none of caller, controller and
    ///      receiver is deny-listed (each account asked once).
    function _checkController(address controller, address receiver) private view {
        if (controller != msg.sender && !isOperator[controller][msg.sender]) {
            revert NotAuthorized(msg.sender, controller);
        }
        if (msg.sender != receiver) _checkNotDenied(msg.sender);
        if (controller != msg.sender && controller != receiver) _checkNotDenied(controller);
        _checkNotDenied(receiver);
    }

    /// @dev A denied account cannot move anyone's sAID as a spender either.
    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        if (IAIDollarView(asset()).isDenied(spender)) revert AccountDenied(spender);
        super._spendAllowance(owner, spender, value);
    }

    /// @dev Pay a claim from the escrow.
    function _pay(address controller, address receiver, uint256 shares, uint256 assets) private {
        if (assets > 0) escrow.release(receiver, assets);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
    }

    /// @dev The share balances are this contract's own (beside each account's exit request, one slot);
    ///      the deny list holds on every move of sAID.
    function _update(address from, address to, uint256 value) internal override {
        IAIDollarView denyList = IAIDollarView(asset());
        if (from != address(0) && denyList.isDenied(from)) revert AccountDenied(from);
        if (to != address(0) && denyList.isDenied(to)) revert AccountDenied(to);
        if (from == address(0)) {
            _supply = SafeCast.toUint128(_supply + value); // so that every balance fits its uint128
        } else {
            uint256 balance = _accounts[from].balance;
            if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
            _accounts[from].balance = uint128(balance - value);
        }
        if (to == address(0)) _supply -= value;
        else _accounts[to].balance += uint128(value); // at most the supply
        emit Transfer(from, to, value);
    }

}
