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
///         corrected for the two tokens' decimals, from the vault's own share price.
/// @dev price = convertToAssets(1 share) * 10^(36 + loanDecimals - vaultDecimals - assetDecimals).
contract SAIDOracle is IMorphoOracle {
    IERC4626 public immutable vault;
    uint256 public immutable ONE_SHARE;
    uint256 public immutable SCALE_FACTOR;

    constructor(IERC4626 vault_, uint8 loanDecimals) {
        vault = vault_;
        uint8 vaultDecimals = IERC20Metadata(address(vault_)).decimals();
        uint8 assetDecimals = IERC20Metadata(vault_.asset()).decimals();
        ONE_SHARE = 10 ** vaultDecimals;
        SCALE_FACTOR = 10 ** (36 + uint256(loanDecimals) - vaultDecimals - assetDecimals);
    }

    function price() external view returns (uint256) {
        return vault.convertToAssets(ONE_SHARE) * SCALE_FACTOR;
    }
}
