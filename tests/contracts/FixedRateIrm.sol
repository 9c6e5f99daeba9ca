// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

// Test-only interest rate model for Morpho Blue: a constant borrow rate, per second in WAD (IIrm's ABI).

struct MarketParams {
    address loanToken;
    address collateralToken;
    address oracle;
    address irm;
    uint256 lltv;
}

struct Market {
    uint128 totalSupplyAssets;
    uint128 totalSupplyShares;
    uint128 totalBorrowAssets;
    uint128 totalBorrowShares;
    uint128 lastUpdate;
    uint128 fee;
}

contract FixedRateIrm {
    uint256 public immutable RATE_PER_SECOND;

    constructor(uint256 ratePerSecond) {
        RATE_PER_SECOND = ratePerSecond;
    }

    function borrowRate(MarketParams memory, Market memory) external view returns (uint256) {
        return RATE_PER_SECOND;
    }

    function borrowRateView(MarketParams memory, Market memory) external view returns (uint256) {
        return RATE_PER_SECOND;
    }
}
