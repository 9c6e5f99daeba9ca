// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice The part of AIDollar that sAID consults: its deny list.
interface IDenyList {
    function isDenied(address account) external view returns (bool);
}

/// @title StakedAID (sAID)
/// @notice ERC-4626 vault on AID. Deal income is paid in by a rewarder (the CreditFacility) and vests
///         linearly over `vestingPeriod`, so the share price rises smoothly with deal income and a deposit
///         made just before a distribution gains nothing from it (Ethena's StakedUSDeV2 design).
/// @dev totalAssets() is the AID held less the part of the latest distribution that has not vested yet.
///      A new distribution adds to what is still unvested and restarts the clock.
///      Inflation attack: the first deposit burns DEAD_SHARES to a dead address, so the share supply never
///      returns to zero and a donation to the vault is shared with shares nobody can redeem: to round a
///      victim's deposit V down to nothing an attacker must donate about V * DEAD_SHARES / (his own
///      shares), most of which the dead shares keep. While no shares exist the vault converts 1:1.
///      AID's deny list holds for sAID too: a denied account can neither move nor redeem shares.
///      sAID is first-loss capital: a realized deal loss burns AID held here (AIDollar.realizeLoss).
contract StakedAID is ERC4626, AccessControl {
    using Math for uint256;
    using SafeERC20 for IERC20;

    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");
    uint256 public constant DEAD_SHARES = 1e6;
    address public constant DEAD = 0x000000000000000000000000000000000000dEaD;
    uint256 public constant MAX_VESTING_PERIOD = 30 days;

    uint256 public vestingPeriod;
    uint256 public vestingAmount;
    uint256 public lastDistribution;

    event RewardsReceived(uint256 amount, uint256 vesting, uint256 period);
    event VestingPeriodSet(uint256 period);
    event LossAbsorbed(uint256 aidBurned, uint256 fromUnvested);

    error FirstDepositTooSmall(uint256 shares, uint256 minimum);
    error AccountDenied(address account);
    error VestingPeriodTooLong(uint256 period, uint256 max);

    constructor(address admin, IERC20 aid, uint256 vestingPeriod_) ERC20("Staked AI Dollar", "sAID") ERC4626(aid) {
        if (vestingPeriod_ > MAX_VESTING_PERIOD) revert VestingPeriodTooLong(vestingPeriod_, MAX_VESTING_PERIOD);
        vestingPeriod = vestingPeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit VestingPeriodSet(vestingPeriod_);
    }

    // ---- income ----

    /// @notice Pay `amount` AID of income into the vault, to vest over `vestingPeriod`.
    function transferInRewards(uint256 amount) external onlyRole(REWARDER_ROLE) {
        uint256 vesting = unvestedAmount() + amount;
        vestingAmount = vesting;
        lastDistribution = block.timestamp;
        IERC20(asset()).safeTransferFrom(msg.sender, address(this), amount);
        emit RewardsReceived(amount, vesting, vestingPeriod);
    }

    /// @notice The part of the latest distribution that has not vested yet (rounded up: never counted early).
    function unvestedAmount() public view returns (uint256) {
        uint256 elapsed = block.timestamp - lastDistribution;
        if (elapsed >= vestingPeriod) return 0;
        return vestingAmount.mulDiv(vestingPeriod - elapsed, vestingPeriod, Math.Rounding.Ceil);
    }

    /// @notice A realized loss burned `aidBurned` of the vault's AID: it is taken from income that has not
    ///         vested yet first, so the loss never leaves AID vesting to holders that the vault no longer
    ///         has (which would hand what vests next to the next depositor).
    function absorbLoss(uint256 aidBurned) external onlyRole(REWARDER_ROLE) {
        uint256 unvested = unvestedAmount();
        uint256 cut = aidBurned < unvested ? aidBurned : unvested;
        vestingAmount = unvested - cut;
        lastDistribution = block.timestamp;
        emit LossAbsorbed(aidBurned, cut);
    }

    function setVestingPeriod(uint256 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (period > MAX_VESTING_PERIOD) revert VestingPeriodTooLong(period, MAX_VESTING_PERIOD);
        // Vest what is pending under the new period from now, so nothing vests retroactively.
        vestingAmount = unvestedAmount();
        lastDistribution = block.timestamp;
        vestingPeriod = period;
        emit VestingPeriodSet(period);
    }

    // ---- views ----

    /// @notice AID held less the unvested part of the latest distribution.
    function totalAssets() public view override returns (uint256) {
        uint256 held = IERC20(asset()).balanceOf(address(this));
        uint256 unvested = unvestedAmount();
        return held > unvested ? held - unvested : 0;
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
        // must buy (almost) the whole vault rather than share with them.
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

    function _update(address from, address to, uint256 value) internal override {
        IDenyList denyList = IDenyList(asset());
        if (from != address(0) && denyList.isDenied(from)) revert AccountDenied(from);
        if (to != address(0) && denyList.isDenied(to)) revert AccountDenied(to);
        super._update(from, to, value);
    }
}
