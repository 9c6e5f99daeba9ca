// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice Test-only baseline for scripts/bench_gas.py: one OpenZeppelin ERC-721 token per GPU, minted by
///         anyone, holding nothing but its owner (no record hash, no status). Never shipped in the package.
contract PlainNFT is ERC721 {
    constructor() ERC721("Plain GPU", "PGPU") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
