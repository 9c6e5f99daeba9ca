// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Timelock
/// @notice OpenZeppelin's TimelockController, unchanged, compiled with the protocol so that the SDK ships its
///         artifact: on a real network it holds DEFAULT_ADMIN_ROLE of every protocol contract, and a Safe
///         multisig is its only proposer and executor (gaib_sdk/chain/governance.py, docs/security.md).
contract Timelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
