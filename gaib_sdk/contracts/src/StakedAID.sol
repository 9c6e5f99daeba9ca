// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice The part of AIDollar that sAID consults: its deny list.
interface IDenyList {
    function isDenied(address account) external view returns (bool);
}

/// @title StakedAID (sAID)
/// @notice ERC-4626 vault on AID. Deal income is minted into the vault as AID, so each share is worth
///         more AID over time: the share price rises with deal income.
/// @dev Inflation attack: the first deposit burns DEAD_SHARES to a dead address, so the share supply never
///      returns to zero and a donation to the vault is shared with shares nobody can redeem: to round a
///      victim's deposit V down to nothing an attacker must donate about V * DEAD_SHARES / (his own
///      shares), most of which the dead shares keep. While no shares exist the vault converts 1:1.
///      AID's deny list holds for sAID too: a denied account can neither move nor redeem shares.
///      Linear vesting of income and the asynchronous (ERC-7540) exit come later.
contract StakedAID is ERC4626 {
    using Math for uint256;

    uint256 public constant DEAD_SHARES = 1e6;
    address public constant DEAD = 0x000000000000000000000000000000000000dEaD;

    error FirstDepositTooSmall(uint256 shares, uint256 minimum);
    error AccountDenied(address account);

    constructor(IERC20 aid) ERC20("Staked AI Dollar", "sAID") ERC4626(aid) {}

    /// @notice AID per whole share, 18 decimals.
    function sharePrice() external view returns (uint256) {
        return convertToAssets(10 ** decimals());
    }

    function _convertToShares(uint256 assets, Math.Rounding rounding) internal view override returns (uint256) {
        uint256 supply = totalSupply();
        return supply == 0 ? assets : assets.mulDiv(supply, totalAssets(), rounding);
    }

    function _convertToAssets(uint256 shares, Math.Rounding rounding) internal view override returns (uint256) {
        uint256 supply = totalSupply();
        return supply == 0 ? shares : shares.mulDiv(totalAssets(), supply, rounding);
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
