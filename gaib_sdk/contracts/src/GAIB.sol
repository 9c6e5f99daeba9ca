// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title GAIB
/// @notice The governance and staking token: a fixed supply minted once to the treasury, with on-chain
///         votes (delegation, checkpoints; clock = timestamp) and EIP-2612 permit. Staking for the node
///         network is the attestation contract's business, not this token's.
contract GAIB is ERC20, ERC20Permit, ERC20Votes {
    constructor(address treasury, uint256 supply) ERC20("GAIB", "GAIB") ERC20Permit("GAIB") {
        _mint(treasury, supply);
    }

    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
