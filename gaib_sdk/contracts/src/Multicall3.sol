// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The part of Multicall3 that the SDK reads through, for development chains
/// @notice Multicall3 (github.com/mds1/multicall) lives at 0xcA11bde05977b3631167028862bE2a173976CA11 on
/// public networks. A development node starts without it: the SDK places this contract's code at that address
/// (anvil_setCode), so its pre-checks read many values in one eth_call on every chain alike. It has the same
/// interface and behaviour for the two functions the SDK calls (aggregate3 takes no ether here: the SDK only
/// reads through it); it is never deployed to a public network.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Call each target with its calldata; a failure reverts the whole call unless it is allowed.
    function aggregate3(Call3[] calldata calls) external returns (Result[] memory returnData) {
        returnData = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            Call3 calldata call = calls[i];
            (bool success, bytes memory data) = call.target.call(call.callData);
            if (!success && !call.allowFailure) revert("Multicall3: call failed");
            returnData[i] = Result(success, data);
        }
    }

    /// @notice The current block's timestamp.
    function getCurrentBlockTimestamp() external view returns (uint256 timestamp) {
        timestamp = block.timestamp;
    }
}
