// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {AIDollar} from "./AIDollar.sol";
import {AssetRegistry} from "./AssetRegistry.sol";
import {LeaseRegistry} from "./LeaseRegistry.sol";
import {RevenueLockbox} from "./RevenueLockbox.sol";
import {StakedAID} from "./StakedAID.sol";

/// @title CreditFacility
/// @notice Deals against digitized collateral, funded in stablecoin from the AID reserve. Each deal is a
///         segregated portfolio with its own cash reserve (cashReserveBps of the advance, withheld at
///         funding and returned at close). repay() runs the waterfall: fees, then interest, then principal;
///         the borrower keeps any excess (priority repayment: the lender is paid first and in full).
///         Interest becomes AID paid into the sAID vault, where it vests and raises sAID's share price.
///         A deal in trouble is impaired (marked down), cured, or defaulted; a defaulted deal is recovered
///         by a true sale to the underwriter and either moved to a new operator (the deal goes on) or
///         liquidated: the proceeds and the cash reserve repay principal and the rest is a realized loss,
///         borne first by sAID.
///         Collateral is any mix of asset ids and cluster roots (a whole cluster registered as one Merkle
///         root): a cluster moves through financing, default and recovery exactly as an asset does.
///         Repayment is enforced, not voluntary: each deal has a schedule computed from its terms (30-day
///         periods from opening), a revenue lockbox its customers pay into, and a sweep anyone may call that
///         pays what is due before the borrower gets anything; a deal past due is impaired at 30 days and
///         defaulted at 90 by anyone (see "Repayment schedule, lockbox and delinquency" in docs/contracts.md).
contract CreditFacility is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant UNDERWRITER_ROLE = keccak256("UNDERWRITER_ROLE");

    uint256 public constant BPS = 10_000;
    uint256 public constant YEAR = 365 days;
    uint256 public constant MIN_TERM_DAYS = 90;
    uint256 public constant MAX_TERM_DAYS = 1095;
    uint256 public constant MAX_ADVANCE_BPS_LIMIT = 8_000;

    uint256 public constant MAX_CASH_RESERVE_BPS = 2_000;

    uint256 public constant PERIOD = 30 days; // one installment period, counted from openedAt
    uint256 public constant GRACE_DAYS = 5; // a sweep draws the cash reserve only this long after a due date
    uint256 public constant IMPAIR_DAYS = 30; // days past due that let anyone mark the deal impaired
    uint256 public constant DEFAULT_DAYS = 90; // days past due that let anyone declare the default
    uint256 public constant DELINQUENT_MARKDOWN_BPS = 2_500; // the markdown at IMPAIR_DAYS: 25% of principal

    enum Structure {
        FixedRate,
        RevenueShare,
        Hybrid
    }

    enum DealStatus {
        None,
        Active,
        Repaid,
        Impaired,
        Defaulted,
        Liquidated
    }

    struct Terms {
        Structure structure;
        uint16 rateBps; // annual interest on outstanding principal
        uint16 revenueShareBps; // lender's share of gross revenue (revenue share: 5000-7000; hybrid: 1-4999)
        uint16 feeBps; // annual servicing fee on outstanding principal, paid to the treasury
        uint32 termDays;
    }

    struct Deal {
        address borrower;
        Terms terms;
        DealStatus status;
        uint64 openedAt;
        uint64 accruedAt;
        uint256 appraisedValue;
        uint256 advance;
        uint256 principalOutstanding;
        uint256 interestDue;
        uint256 feesDue;
        uint256 interestPaid;
        uint256 feesPaid;
        uint256 cashReserve;
        uint256 impairment;
    }

    AIDollar public immutable aid;
    IERC20 public immutable stablecoin;
    AssetRegistry public immutable registry;
    StakedAID public immutable vault;
    /// @notice The receivables: the leases each deal is pledged, capped by its collateral's capacity.
    LeaseRegistry public immutable leases;
    address public treasury;
    uint256 public maxAdvanceBps;
    uint256 public cashReserveBps;
    uint256 public dealCount;

    mapping(uint256 => Deal) private _deals;
    mapping(uint256 => bytes32[]) private _collateral;

    /// @dev Per deal, beside Deal: its lockbox, how many installments are paid (every due date up to
    ///      that one is met), and how much of the cash reserve sweeps have drawn and not yet topped up.
    struct Servicing {
        address lockbox;
        uint32 installmentsPaid;
        uint256 reserveDrawn;
    }

    /// @dev What one sweep did with the stablecoin it took from the lockbox (USDC units).
    struct Sweep {
        uint256 gross;
        uint256 fees;
        uint256 interest;
        uint256 principal;
        uint256 kicker;
        uint256 reserveDrawn;
        uint256 reserveTopUp;
        uint256 toBorrower;
    }

    address public immutable lockboxImplementation;
    mapping(uint256 => Servicing) private _servicing;

    event DealOpened(
        uint256 indexed dealId,
        address indexed borrower,
        uint256 appraisedValue,
        uint256 advance,
        Terms terms,
        bytes32[] collateral
    );
    event Repaid(
        uint256 indexed dealId, address indexed payer, uint256 fees, uint256 interest, uint256 principal, uint256 excess
    );
    event DealClosed(uint256 indexed dealId, uint256 cashReserveReleased);
    event DealImpaired(uint256 indexed dealId, uint256 markdown);
    event DealCured(uint256 indexed dealId);
    event DealDefaulted(uint256 indexed dealId, uint256 principalOutstanding);
    event DealTransferred(uint256 indexed dealId, address indexed from, address indexed to);
    event DealLiquidated(
        uint256 indexed dealId, uint256 proceeds, uint256 cashReserve, uint256 principalRecovered, uint256 loss, uint256 excess
    );
    event CashReserveSet(uint256 cashReserveBps);
    event MaxAdvanceSet(uint256 maxAdvanceBps);
    event TreasurySet(address treasury);
    event LockboxOpened(uint256 indexed dealId, address lockbox);
    event Swept(uint256 indexed dealId, address indexed caller, Sweep amounts);
    event DealDelinquent(uint256 indexed dealId, uint256 daysPastDue, DealStatus status);

    error AdvanceAboveCap(uint256 advance, uint256 appraisedValue, uint256 maxAdvance);
    error ZeroAmount();
    error TermOutOfRange(uint256 termDays);
    error RevenueShareOutOfRange(uint256 revenueShareBps);
    error NoCollateral();
    error CollateralNotAvailable(bytes32 assetId);
    error UnknownCollateral(bytes32 id);
    error CollateralNotOwned(bytes32 assetId, address owner, address borrower);
    error DealNotActive(uint256 dealId);
    error NotRevenueShare(uint256 dealId);
    error MaxAdvanceTooHigh(uint256 maxAdvanceBps);
    error CashReserveTooHigh(uint256 cashReserveBps);
    error WrongDealStatus(uint256 dealId, DealStatus status);
    error MarkdownTooHigh(uint256 markdown, uint256 principalOutstanding);
    error UnknownDeal(uint256 dealId);
    error NotDelinquent(uint256 dealId, uint256 daysPastDue);

    constructor(
        address admin,
        AIDollar aid_,
        AssetRegistry registry_,
        StakedAID vault_,
        address treasury_,
        LeaseRegistry leases_
    ) {
        aid = aid_;
        stablecoin = aid_.stablecoin();
        registry = registry_;
        vault = vault_;
        treasury = treasury_;
        leases = leases_;
        lockboxImplementation = address(new RevenueLockbox(stablecoin));
        maxAdvanceBps = MAX_ADVANCE_BPS_LIMIT;
        cashReserveBps = 660; // GAIB's docs: a cash reserve of about 6.6% of what is funded
        // The AID contract pulls interest in stablecoin from here when it mints income; the vault pulls the
        // AID it is paid as rewards.
        stablecoin.forceApprove(address(aid_), type(uint256).max);
        IERC20(address(aid_)).forceApprove(address(vault_), type(uint256).max);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit CashReserveSet(660);
    }

    // ---- deals ----

    /// @notice Open a deal: check the advance against the cap and the collateral (asset ids and cluster
    ///         roots, each registered, active and the borrower's) against the registry, mark the collateral
    ///         financed, pledge the leases (`leaseIds`, see LeaseRegistry.pledge: each backs one open deal, and
    ///         their monthly amounts are capped by the collateral's capacity), and fund the borrower from the
    ///         AID reserve.
    function openDeal(
        address borrower,
        bytes32[] calldata collateral,
        uint256 appraisedValue,
        uint256 advance,
        Terms calldata terms,
        bytes32[] calldata leaseIds
    ) external onlyRole(UNDERWRITER_ROLE) nonReentrant returns (uint256 dealId) {
        if (advance == 0) revert ZeroAmount();
        {
            uint256 maxAdvance = Math.mulDiv(appraisedValue, maxAdvanceBps, BPS);
            if (advance > maxAdvance) revert AdvanceAboveCap(advance, appraisedValue, maxAdvance);
        }
        if (terms.termDays < MIN_TERM_DAYS || terms.termDays > MAX_TERM_DAYS) revert TermOutOfRange(terms.termDays);
        if (
            (terms.structure == Structure.RevenueShare && (terms.revenueShareBps < 5_000 || terms.revenueShareBps > 7_000))
                || (terms.structure == Structure.Hybrid && (terms.revenueShareBps == 0 || terms.revenueShareBps >= 5_000))
                || (terms.structure == Structure.FixedRate && terms.revenueShareBps != 0)
        ) revert RevenueShareOutOfRange(terms.revenueShareBps);
        if (collateral.length == 0) revert NoCollateral();
        _finance(borrower, collateral);

        dealId = ++dealCount;
        uint256 cash = Math.mulDiv(advance, cashReserveBps, BPS);
        _deals[dealId] = Deal({
            borrower: borrower,
            terms: terms,
            status: DealStatus.Active,
            openedAt: uint64(block.timestamp),
            accruedAt: uint64(block.timestamp),
            appraisedValue: appraisedValue,
            advance: advance,
            principalOutstanding: advance,
            interestDue: 0,
            feesDue: 0,
            interestPaid: 0,
            feesPaid: 0,
            cashReserve: cash,
            impairment: 0
        });
        _collateral[dealId] = collateral;
        emit DealOpened(dealId, borrower, appraisedValue, advance, terms, collateral);
        leases.pledge(dealId, borrower, collateral, leaseIds);
        address lockbox = Clones.cloneDeterministic(lockboxImplementation, bytes32(dealId));
        _servicing[dealId].lockbox = lockbox;
        emit LockboxOpened(dealId, lockbox);
        // The whole advance leaves the reserve; the deal's cash reserve stays here, segregated, for it.
        aid.fundDeal(address(this), advance);
        stablecoin.safeTransfer(borrower, advance - cash);
    }

    /// @notice Pay up to `amount` of stablecoin into a deal through the waterfall. Only what is owed is
    ///         taken from the payer; the rest (the excess) stays with them.
    function repay(uint256 dealId, uint256 amount) external nonReentrant returns (uint256 taken) {
        return _repay(dealId, amount);
    }

    /// @notice Revenue-share and hybrid deals: pay the lender's share of a period's gross revenue.
    function repayFromRevenue(uint256 dealId, uint256 grossRevenue) external nonReentrant returns (uint256 taken) {
        Deal storage d = _deals[dealId];
        if (d.terms.structure == Structure.FixedRate) revert NotRevenueShare(dealId);
        return _repay(dealId, Math.mulDiv(grossRevenue, d.terms.revenueShareBps, BPS));
    }

    /// @notice Take everything in the deal's lockbox and pay the waterfall first: fees and interest accrued,
    ///         the principal scheduled by now and not yet repaid (revenue share: revenueShareBps of the gross
    ///         swept, at least what is due, on to principal outstanding), the hybrid kicker (its share of the
    ///         gross, paid to sAID as income), then the cash reserve's top-up; only the rest goes to the
    ///         borrower. A sweep short of what is due, GRACE_DAYS or more after the oldest unmet due date,
    ///         draws the deal's cash reserve for the shortfall. Anyone may call it. On a repaid or liquidated
    ///         deal the whole lockbox goes to the borrower; a defaulted deal's lockbox waits for its recovery.
    function sweep(uint256 dealId) external nonReentrant returns (Sweep memory r) {
        Deal storage d = _deals[dealId];
        Servicing storage s = _servicing[dealId];
        if (s.lockbox == address(0)) revert UnknownDeal(dealId);
        if (d.status == DealStatus.Defaulted) revert WrongDealStatus(dealId, d.status);
        r.gross = RevenueLockbox(s.lockbox).pull();
        uint256 left = r.gross;
        if (_open(d)) {
            _accrue(d);
            uint256 due = d.feesDue + d.interestDue + _principalDue(d, _passed(d));
            uint256 share = Math.mulDiv(r.gross, d.terms.revenueShareBps, BPS);
            uint256 budget = Math.min(left, d.terms.structure == Structure.RevenueShare ? Math.max(due, share) : due);
            if (budget < due && daysPastDue(dealId) >= GRACE_DAYS) {
                r.reserveDrawn = Math.min(d.cashReserve, due - budget);
                d.cashReserve -= r.reserveDrawn;
                s.reserveDrawn += r.reserveDrawn;
            }
            (r.fees, r.interest, r.principal) = _pay(d, budget + r.reserveDrawn);
            // what the waterfall could not use (a revenue share above all that is owed) stays in `left`
            left = left + r.reserveDrawn - r.fees - r.interest - r.principal;
            if (d.terms.structure == Structure.Hybrid) {
                r.kicker = Math.min(left, share);
                left -= r.kicker;
                if (r.kicker > 0) _payIncome(r.kicker);
            }
            r.reserveTopUp = Math.min(left, s.reserveDrawn);
            left -= r.reserveTopUp;
            s.reserveDrawn -= r.reserveTopUp;
            d.cashReserve += r.reserveTopUp;
            _settle(dealId, d);
        }
        r.toBorrower = left;
        emit Swept(dealId, msg.sender, r);
        emit Repaid(dealId, s.lockbox, r.fees, r.interest, r.principal, left);
        if (left > 0) stablecoin.safeTransfer(d.borrower, left);
    }

    // ---- trouble and recovery ----

    /// @notice The delinquency trigger, callable by anyone: DEFAULT_DAYS or more past due defaults the deal;
    ///         IMPAIR_DAYS or more marks an active deal down by DELINQUENT_MARKDOWN_BPS of its principal.
    function markDelinquent(uint256 dealId) external nonReentrant {
        Deal storage d = _deals[dealId];
        uint256 dpd = daysPastDue(dealId);
        if (dpd >= DEFAULT_DAYS) _default(dealId, d);
        else if (dpd >= IMPAIR_DAYS && d.status == DealStatus.Active) {
            _markDown(dealId, d, Math.mulDiv(d.principalOutstanding, DELINQUENT_MARKDOWN_BPS, BPS));
        } else revert NotDelinquent(dealId, dpd);
        emit DealDelinquent(dealId, dpd, d.status);
    }

    /// @notice Mark a deal down by `markdown` (the expected loss) while it is worked out. sAID's share
    ///         price falls by it in this block (less unvested income, which absorbs it first).
    function impair(uint256 dealId, uint256 markdown) external onlyRole(UNDERWRITER_ROLE) {
        Deal storage d = _inStatus(dealId, DealStatus.Active);
        if (markdown == 0 || markdown > d.principalOutstanding) revert MarkdownTooHigh(markdown, d.principalOutstanding);
        _markDown(dealId, d, markdown);
    }

    /// @notice An impaired deal is performing again: its markdown is written back to sAID through vesting.
    function cure(uint256 dealId) external onlyRole(UNDERWRITER_ROLE) {
        Deal storage d = _inStatus(dealId, DealStatus.Impaired);
        d.status = DealStatus.Active;
        _setImpairment(d, 0);
        _setCollateral(dealId, AssetRegistry.Status.Financed);
        emit DealCured(dealId);
    }

    /// @notice The borrower has defaulted: the hardware is sold to the underwriter (a true sale) pending
    ///         its transfer to another operator or its liquidation. The deal is marked down to at least its
    ///         principal outstanding less its cash reserve (held here for the deal): nothing else is counted
    ///         until the hardware is sold.
    function declareDefault(uint256 dealId) external onlyRole(UNDERWRITER_ROLE) {
        Deal storage d = _deals[dealId];
        if (!_open(d)) revert WrongDealStatus(dealId, d.status);
        _default(dealId, d);
    }

    /// @notice Recovery by transfer: another operator takes the hardware and the deal goes on with it; its
    ///         markdown is written back to sAID through vesting.
    function transferToOperator(uint256 dealId, address newBorrower) external onlyRole(UNDERWRITER_ROLE) {
        Deal storage d = _inStatus(dealId, DealStatus.Defaulted);
        address old = d.borrower;
        d.borrower = newBorrower;
        d.status = DealStatus.Active;
        d.accruedAt = uint64(block.timestamp);
        _setImpairment(d, 0);
        bytes32[] storage c = _collateral[dealId];
        for (uint256 i = 0; i < c.length; ++i) {
            AssetRegistry.Entry entry = registry.entryType(c[i]);
            if (entry == AssetRegistry.Entry.Cluster) registry.setClusterOwner(c[i], newBorrower);
            else registry.setOwner(c[i], newBorrower);
            _setStatus(c[i], entry, AssetRegistry.Status.Financed);
        }
        emit DealTransferred(dealId, old, newBorrower);
    }

    /// @notice Recovery by liquidation: the underwriter pays in what the hardware sold for. With the deal's
    ///         cash reserve it repays principal, then unpaid interest (to sAID); the rest of the principal
    ///         is a realized loss (borne first by sAID); anything over goes to the old borrower.
    function recordLiquidation(uint256 dealId, uint256 proceeds) external onlyRole(UNDERWRITER_ROLE) nonReentrant {
        Deal storage d = _inStatus(dealId, DealStatus.Defaulted);
        if (proceeds > 0) stablecoin.safeTransferFrom(msg.sender, address(this), proceeds);
        uint256 available = proceeds + d.cashReserve;
        uint256 toPrincipal = Math.min(available, d.principalOutstanding);
        uint256 loss = d.principalOutstanding - toPrincipal;
        available -= toPrincipal;
        uint256 toInterest = Math.min(available, d.interestDue);
        uint256 excess = available - toInterest;
        emit DealLiquidated(dealId, proceeds, d.cashReserve, toPrincipal, loss, excess);

        d.status = DealStatus.Liquidated;
        d.cashReserve = 0;
        d.principalOutstanding = 0;
        d.interestPaid += toInterest;
        d.interestDue = 0;
        d.feesDue = 0;
        uint256 released = d.impairment;
        d.impairment = 0;
        _setCollateral(dealId, AssetRegistry.Status.Liquidated);
        leases.release(dealId);
        if (toPrincipal > 0) {
            stablecoin.safeTransfer(address(aid), toPrincipal);
            aid.principalReturned(toPrincipal);
        }
        // The markdown leaves sAID's writedown as the loss is realized: a loss above it is absorbed by
        // unvested income first, a loss below it comes back through vesting.
        uint256 absorbed = loss > 0 ? aid.realizeLoss(address(vault), loss) : 0;
        uint256 scale = aid.SCALE();
        if (released > 0 || absorbed > 0) vault.realizeMarkdown(released * scale, absorbed * scale);
        if (toInterest > 0) _payIncome(toInterest);
        if (excess > 0) stablecoin.safeTransfer(d.borrower, excess);
    }

    // ---- views ----

    function getDeal(uint256 dealId) external view returns (Deal memory d) {
        d = _deals[dealId];
        (uint256 fees, uint256 interest) = _pending(_deals[dealId], block.timestamp);
        d.feesDue += fees;
        d.interestDue += interest;
    }

    function collateralOf(uint256 dealId) external view returns (bytes32[] memory) {
        return _collateral[dealId];
    }

    /// @notice Everything owed now: fees and interest accrued to this block, and the principal.
    function amountOwed(uint256 dealId) external view returns (uint256) {
        Deal storage d = _deals[dealId];
        (uint256 fees, uint256 interest) = _pending(d, block.timestamp);
        return d.feesDue + fees + d.interestDue + interest + d.principalOutstanding;
    }

    /// @notice The deal's lockbox, installments met so far and the cash reserve drawn and not yet topped up.
    function servicing(uint256 dealId) external view returns (Servicing memory) {
        return _servicing[dealId];
    }

    /// @notice The repayment schedule, computed from the terms: n = ceil(termDays / 30) due dates,
    ///         openedAt + min(30k, termDays) days, and the principal each one calls for (fixed and hybrid:
    ///         advance / n rounded down, the last clears the rest; revenue share: all at the last).
    function installments(uint256 dealId) external view returns (uint64[] memory dueAt, uint256[] memory principal) {
        Deal storage d = _deals[dealId];
        uint256 n = _count(d);
        dueAt = new uint64[](n);
        principal = new uint256[](n);
        for (uint256 k = 1; k <= n; ++k) {
            dueAt[k - 1] = uint64(_dueAt(d, k));
            principal[k - 1] = _scheduled(d, k) - _scheduled(d, k - 1);
        }
    }

    /// @notice What is due now: fees and interest accrued up to the latest due date that has passed, and
    ///         the principal scheduled by then and not yet repaid; zero when every passed date is met.
    function amountDue(uint256 dealId) external view returns (uint256 fees, uint256 interest, uint256 principal) {
        Deal storage d = _deals[dealId];
        uint256 m = _passed(d);
        if (!_open(d) || m <= installmentsMet(dealId)) return (0, 0, 0);
        (fees, interest) = _pending(d, _dueAt(d, m));
        fees += d.feesDue;
        interest += d.interestDue;
        principal = _principalDue(d, m);
    }

    /// @notice How many due dates are met now, in order: a passed date is met once its principal is repaid
    ///         and no fees or interest accrued up to it are unpaid.
    function installmentsMet(uint256 dealId) public view returns (uint256) {
        Deal storage d = _deals[dealId];
        uint256 k = _servicing[dealId].installmentsPaid;
        return _open(d) ? _paidThrough(d, k) : k;
    }

    /// @notice Whole days since the oldest due date not met (0 when none has passed unmet).
    function daysPastDue(uint256 dealId) public view returns (uint256) {
        Deal storage d = _deals[dealId];
        if (!_open(d)) return 0;
        uint256 k = installmentsMet(dealId);
        if (k >= _count(d)) return 0;
        uint256 due = _dueAt(d, k + 1);
        return block.timestamp > due ? (block.timestamp - due) / 1 days : 0;
    }

    // ---- administration ----

    function setMaxAdvanceBps(uint256 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_ADVANCE_BPS_LIMIT) revert MaxAdvanceTooHigh(bps);
        maxAdvanceBps = bps;
        emit MaxAdvanceSet(bps);
    }

    function setCashReserveBps(uint256 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_CASH_RESERVE_BPS) revert CashReserveTooHigh(bps);
        cashReserveBps = bps;
        emit CashReserveSet(bps);
    }

    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    // ---- internals ----

    function _repay(uint256 dealId, uint256 amount) private returns (uint256 taken) {
        Deal storage d = _deals[dealId];
        if (!_open(d)) revert DealNotActive(dealId);
        if (amount == 0) revert ZeroAmount();
        _accrue(d);
        // Only what is owed is taken from the payer; the rest (the excess) stays with them.
        taken = Math.min(amount, d.feesDue + d.interestDue + d.principalOutstanding);
        stablecoin.safeTransferFrom(msg.sender, address(this), taken);
        (uint256 toFees, uint256 toInterest, uint256 toPrincipal) = _pay(d, taken);
        emit Repaid(dealId, msg.sender, toFees, toInterest, toPrincipal, amount - taken);
        _settle(dealId, d);
    }

    /// @dev The waterfall on `amount` of stablecoin already held here: fees (to the treasury), then interest
    ///      (to sAID), then principal (back to the AID reserve). The caller has accrued the deal.
    function _pay(Deal storage d, uint256 amount) private returns (uint256 toFees, uint256 toInterest, uint256 toPrincipal) {
        toFees = Math.min(amount, d.feesDue);
        amount -= toFees;
        toInterest = Math.min(amount, d.interestDue);
        amount -= toInterest;
        toPrincipal = Math.min(amount, d.principalOutstanding);

        d.feesDue -= toFees;
        d.feesPaid += toFees;
        d.interestDue -= toInterest;
        d.interestPaid += toInterest;
        d.principalOutstanding -= toPrincipal;

        if (toFees > 0) stablecoin.safeTransfer(treasury, toFees);
        if (toInterest > 0) _payIncome(toInterest);
        if (toPrincipal > 0) {
            stablecoin.safeTransfer(address(aid), toPrincipal);
            aid.principalReturned(toPrincipal);
        }
    }

    /// @dev After a payment: record the installments now met, and close the deal once nothing is owed.
    function _settle(uint256 dealId, Deal storage d) private {
        Servicing storage s = _servicing[dealId];
        s.installmentsPaid = uint32(_paidThrough(d, s.installmentsPaid));
        if (d.principalOutstanding == 0 && d.interestDue == 0 && d.feesDue == 0) _close(dealId, d);
    }

    /// @dev A new deal's collateral: each id registered, active and the borrower's, then marked financed.
    function _finance(address borrower, bytes32[] calldata collateral) private {
        for (uint256 i = 0; i < collateral.length; ++i) {
            bytes32 id = collateral[i];
            (AssetRegistry.Entry entry, AssetRegistry.Status status, address owner) = registry.collateralInfo(id);
            if (entry == AssetRegistry.Entry.None) revert UnknownCollateral(id);
            // a second deal, or the same id twice in this one, finds it financed already
            if (status != AssetRegistry.Status.Active) revert CollateralNotAvailable(id);
            if (owner != borrower) revert CollateralNotOwned(id, owner, borrower);
            _setStatus(id, entry, AssetRegistry.Status.Financed);
        }
    }

    function _close(uint256 dealId, Deal storage d) private {
        if (d.status == DealStatus.Impaired) _setCollateral(dealId, AssetRegistry.Status.Financed);
        d.status = DealStatus.Repaid;
        uint256 cash = d.cashReserve;
        d.cashReserve = 0;
        _setImpairment(d, 0); // repaid in full: its markdown vests back to sAID
        _setCollateral(dealId, AssetRegistry.Status.Active);
        leases.release(dealId);
        emit DealClosed(dealId, cash);
        if (cash > 0) stablecoin.safeTransfer(d.borrower, cash);
    }

    /// @dev Interest raises sAID's share price: it becomes AID paid into the vault, where it vests. While
    ///      nobody is staked it would belong to no one, so it goes to the treasury instead.
    function _payIncome(uint256 stableAmount) private {
        if (vault.totalSupply() == 0) {
            aid.mintIncome(treasury, stableAmount);
            return;
        }
        uint256 aidAmount = aid.mintIncome(address(this), stableAmount);
        vault.transferInRewards(aidAmount);
    }

    /// @dev Mark deal `dealId` down to `markdown` (stablecoin units): sAID's writedown moves by the difference
    ///      from the previous impairment; an active deal becomes impaired, with its collateral.
    function _markDown(uint256 dealId, Deal storage d, uint256 markdown) internal {
        bool wasActive = d.status == DealStatus.Active;
        if (wasActive) d.status = DealStatus.Impaired;
        emit DealImpaired(dealId, markdown);
        _setImpairment(d, markdown);
        if (wasActive) _setCollateral(dealId, AssetRegistry.Status.Impaired);
    }

    /// @dev Default deal `dealId` (active or impaired): accrue, mark it down to at least principal outstanding
    ///      less the cash reserve, and move it and its collateral to Defaulted.
    function _default(uint256 dealId, Deal storage d) internal {
        _accrue(d);
        d.status = DealStatus.Defaulted;
        emit DealDefaulted(dealId, d.principalOutstanding);
        uint256 floor = d.principalOutstanding > d.cashReserve ? d.principalOutstanding - d.cashReserve : 0;
        // (the vault's MarkedDown event records the change; getDeal shows the new impairment)
        if (d.impairment < floor) _setImpairment(d, floor);
        _setCollateral(dealId, AssetRegistry.Status.Defaulted);
    }

    /// @dev Set the deal's impairment and move sAID's writedown by the difference: a rise is priced at once,
    ///      a fall vests back.
    function _setImpairment(Deal storage d, uint256 markdown) private {
        uint256 prev = d.impairment;
        if (markdown == prev) return;
        d.impairment = markdown;
        uint256 scale = aid.SCALE();
        if (markdown > prev) vault.markDown((markdown - prev) * scale);
        else vault.markUp((prev - markdown) * scale);
    }

    function _accrue(Deal storage d) private {
        (uint256 fees, uint256 interest) = _pending(d, block.timestamp);
        d.feesDue += fees;
        d.interestDue += interest;
        d.accruedAt = uint64(block.timestamp);
    }

    function _open(Deal storage d) private view returns (bool) {
        return d.status == DealStatus.Active || d.status == DealStatus.Impaired;
    }

    /// @dev The number of installments: ceil(termDays / 30).
    function _count(Deal storage d) private view returns (uint256) {
        return (uint256(d.terms.termDays) + 29) / 30;
    }

    /// @dev Due date k (1..n): openedAt + min(30k, termDays) days.
    function _dueAt(Deal storage d, uint256 k) private view returns (uint256) {
        return d.openedAt + Math.min(k * PERIOD, uint256(d.terms.termDays) * 1 days);
    }

    /// @dev How many due dates have passed (block.timestamp at or after them).
    function _passed(Deal storage d) private view returns (uint256) {
        uint256 n = _count(d);
        if (block.timestamp >= _dueAt(d, n)) return n;
        if (block.timestamp <= d.openedAt) return 0; // a clock set back before the deal opened
        return (block.timestamp - d.openedAt) / PERIOD;
    }

    /// @dev Principal scheduled by due date k, cumulative.
    function _scheduled(Deal storage d, uint256 k) private view returns (uint256) {
        uint256 n = _count(d);
        if (k >= n) return d.advance;
        if (d.terms.structure == Structure.RevenueShare) return 0;
        return k * (d.advance / n);
    }

    /// @dev Principal scheduled by due date m and not yet repaid.
    function _principalDue(Deal storage d, uint256 m) private view returns (uint256) {
        uint256 repaid = d.advance - d.principalOutstanding;
        uint256 scheduled = _scheduled(d, m);
        return scheduled > repaid ? scheduled - repaid : 0;
    }

    /// @dev From `k` installments met, the installments met now: a passed due date is met once its
    ///      principal is repaid and no fees or interest accrued up to it are unpaid.
    function _paidThrough(Deal storage d, uint256 k) private view returns (uint256) {
        if (d.feesDue + d.interestDue > 0) return k;
        uint256 n = _count(d);
        uint256 repaid = d.advance - d.principalOutstanding;
        while (k < n) {
            uint256 at = _dueAt(d, k + 1);
            if (at > block.timestamp || _scheduled(d, k + 1) > repaid) break;
            (uint256 fees, uint256 interest) = _pending(d, at);
            if (fees + interest > 0) break;
            ++k;
        }
        return k;
    }

    function _inStatus(uint256 dealId, DealStatus status) private view returns (Deal storage d) {
        d = _deals[dealId];
        if (d.status != status) revert WrongDealStatus(dealId, d.status);
    }

    function _setCollateral(uint256 dealId, AssetRegistry.Status status) private {
        bytes32[] storage c = _collateral[dealId];
        for (uint256 i = 0; i < c.length; ++i) {
            _setStatus(c[i], registry.entryType(c[i]), status);
        }
    }

    function _setStatus(bytes32 id, AssetRegistry.Entry entry, AssetRegistry.Status status) private {
        if (entry == AssetRegistry.Entry.Cluster) registry.setClusterStatus(id, status);
        else registry.setStatus(id, status);
    }

    /// @dev Fees and interest accrued from the last accrual to `until` (none if `until` is not later),
    ///      simple actual/365 by the second on principal outstanding, rounded up (in the lender's favour).
    function _pending(Deal storage d, uint256 until) private view returns (uint256 fees, uint256 interest) {
        if (!_open(d) || until <= d.accruedAt) return (0, 0);
        uint256 elapsed = until - d.accruedAt;
        uint256 base = d.principalOutstanding * elapsed;
        interest = Math.mulDiv(base, d.terms.rateBps, BPS * YEAR, Math.Rounding.Ceil);
        fees = Math.mulDiv(base, d.terms.feeBps, BPS * YEAR, Math.Rounding.Ceil);
    }
}
