// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @notice The one function a Morpho Blue market asks of its oracle (Morpho's IOracle).
interface IMorphoOracle {
    function price() external view returns (uint256);
}

/// @title SAIDOracle
/// @notice Prices sAID (collateral) in a loan token that AID is redeemable 1:1 for (USDC), for Morpho
///         Blue: the price of one whole collateral token in loan-token units, scaled by 1e36 and
///         corrected for the two tokens' decimals, from the vault's own share price, with a cap on how
///         fast that price may rise.
/// @dev price = min(spot, cap) * 10^(36 + loanDecimals - vaultDecimals - assetDecimals), where
///      spot = vault.convertToAssets(1 share) and
///      cap  = checkpointed * (1 + maxAnnualGrowth * (now - checkpointedAt) / 365 days).
///
///      Why a cap: sAID's totalAssets() is the AID the vault holds (less unvested income), so AID sent
///      straight to the vault (a donation) raises convertToAssets at once. An attacker who holds sAID
///      could donate, borrow against the inflated collateral value, and walk away with more than the
///      donation cost him. Under the cap a jump reaches the price only at `maxAnnualGrowth` a year, by
///      which time it is genuine value held by the vault.
///
///      Falls pass through at once: min(spot, cap) follows spot down. A loss (a deal written off burns
///      sAID's AID) makes collateral worth less now; an oracle that lagged it would let borrowers keep
///      debt that the collateral no longer covers, and lenders would bear the bad debt. Being quick to
///      fall and slow to rise errs on the lenders' side in both directions.
///
///      checkpoint() (anyone, e.g. a keeper) moves the base to the current capped price, so growth is
///      measured from there; after a fall it lowers the base, so a rebound is capped from the new low.
///      The growth rate is immutable, as Morpho market parameters are: a market's risk cannot change
///      under its lenders.
contract SAIDOracle is IMorphoOracle {
    uint256 public constant WAD = 1e18;
    uint256 public constant YEAR = 365 days;
    /// @notice The largest growth cap accepted: 100% a year.
    uint256 public constant MAX_GROWTH = 1e18;

    IERC4626 public immutable vault;
    uint256 public immutable ONE_SHARE;
    uint256 public immutable SCALE_FACTOR;
    /// @notice The most the share price may rise per year, as a fraction of the checkpoint (1e18 = 100%).
    uint256 public immutable maxAnnualGrowth;

    /// @notice The capped share price (assets per whole share) at the last checkpoint.
    uint256 public checkpointed;
    /// @notice When the last checkpoint was taken.
    uint256 public checkpointedAt;

    event Checkpoint(uint256 sharePrice, uint256 spot, uint256 timestamp);

    error GrowthTooHigh(uint256 given, uint256 max);

    constructor(IERC4626 vault_, uint8 loanDecimals, uint256 maxAnnualGrowth_) {
        if (maxAnnualGrowth_ > MAX_GROWTH) revert GrowthTooHigh(maxAnnualGrowth_, MAX_GROWTH);
        vault = vault_;
        uint8 vaultDecimals = IERC20Metadata(address(vault_)).decimals();
        uint8 assetDecimals = IERC20Metadata(vault_.asset()).decimals();
        ONE_SHARE = 10 ** vaultDecimals;
        SCALE_FACTOR = 10 ** (36 + uint256(loanDecimals) - vaultDecimals - assetDecimals);
        maxAnnualGrowth = maxAnnualGrowth_;
        uint256 spot = vault_.convertToAssets(ONE_SHARE);
        checkpointed = spot;
        checkpointedAt = block.timestamp;
        emit Checkpoint(spot, spot, block.timestamp);
    }

    /// @notice The vault's share price now (assets per whole share), uncapped.
    function spotSharePrice() public view returns (uint256) {
        return vault.convertToAssets(ONE_SHARE);
    }

    /// @notice The highest share price the oracle accepts now: the checkpoint grown linearly at the cap.
    function maxSharePrice() public view returns (uint256) {
        // a clock set back before the checkpoint allows no growth, rather than reverting every price read
        uint256 elapsed = block.timestamp > checkpointedAt ? block.timestamp - checkpointedAt : 0;
        return checkpointed + (checkpointed * maxAnnualGrowth * elapsed) / (WAD * YEAR);
    }

    /// @notice The share price the oracle uses: the spot price, but no more than the cap.
    function sharePrice() public view returns (uint256) {
        uint256 spot = spotSharePrice();
        uint256 cap = maxSharePrice();
        return spot < cap ? spot : cap;
    }

    /// @notice Morpho's IOracle: one collateral base unit in loan-token base units, times 1e36.
    function price() external view returns (uint256) {
        return sharePrice() * SCALE_FACTOR;
    }

    /// @notice Move the base of the cap to the price used now. Anyone may; it never raises the price
    ///         beyond what the cap allows, and after a fall it lowers the base.
    function checkpoint() external returns (uint256) {
        uint256 spot = spotSharePrice();
        uint256 cap = maxSharePrice();
        uint256 used = spot < cap ? spot : cap;
        checkpointed = used;
        checkpointedAt = block.timestamp;
        emit Checkpoint(used, spot, block.timestamp);
        return used;
    }
}
