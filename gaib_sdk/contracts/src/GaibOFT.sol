// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {OFTAdapter} from "@layerzerolabs/oft-evm/contracts/OFTAdapter.sol";
import {OFT} from "@layerzerolabs/oft-evm/contracts/OFT.sol";
import {OFTCore} from "@layerzerolabs/oft-evm/contracts/OFTCore.sol";
import {SendParam, OFTReceipt, MessagingFee, MessagingReceipt} from "@layerzerolabs/oft-evm/contracts/interfaces/IOFT.sol";
import {RateLimiter} from "@layerzerolabs/oapp-evm/contracts/oapp/utils/RateLimiter.sol";

interface IDenyList {
    function isDenied(address account) external view returns (bool);
}

/// @title BridgeControls
/// @notice The rules of the home chain, held by every end of an AID / sAID bridge: pause stops sends and
///         deliveries, a deny-listed account can neither send nor receive across, and a rate limit per
///         destination bounds what leaves this chain in a window (LayerZero's OApp RateLimiter).
///         The same bound holds on what arrives from each source (inbound limits): if the DVNs of a path were
///         compromised, what they could credit here per window is bounded too.
/// @dev A path with no rate limit set can carry nothing, either way (the RateLimiter's default): an operator
///      opens a path on purpose. Composed messages are refused: a transfer is all this bridge carries.
abstract contract BridgeControls is OFTCore, Pausable, RateLimiter {
    /// @notice Who may pause besides the owner (a guardian that reacts fast; only the owner unpauses).
    address public pauser;
    /// @notice Per source endpoint id: what may arrive from it per window (same decay as the outbound limits).
    mapping(uint32 srcEid => RateLimit limit) public inboundLimits;

    event PauserSet(address indexed pauser);
    event InboundRateLimitsChanged(RateLimitConfig[] configs);

    error AccountDenied(address account);
    error NotPauser(address caller);
    error ComposeNotSupported();
    error InboundRateLimitExceeded(uint32 srcEid, uint256 amount, uint256 available);

    /// @notice Whether `account` is on the deny list that this end of the bridge consults.
    function isDenied(address account) public view virtual returns (bool);

    /// @notice Set the guardian allowed to pause (address(0): the owner only).
    function setPauser(address pauser_) external onlyOwner {
        pauser = pauser_;
        emit PauserSet(pauser_);
    }

    /// @notice Stop sends and deliveries; packets sent meanwhile wait at the endpoint and can be delivered
    ///         after unpause.
    function pause() external {
        if (msg.sender != owner() && msg.sender != pauser) revert NotPauser(msg.sender);
        _pause();
    }

    /// @notice Resume sends and deliveries.
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Set the most that may leave toward each endpoint id per window (emits RateLimitsChanged).
    function setRateLimits(RateLimitConfig[] calldata configs) external onlyOwner {
        _setRateLimits(configs);
    }

    /// @notice Set the most that may arrive from each endpoint id per window (`dstEid` of each config names the
    ///         source here). A delivery over the limit reverts and waits at the endpoint for the window to free.
    function setInboundRateLimits(RateLimitConfig[] calldata configs) external onlyOwner {
        for (uint256 i = 0; i < configs.length; i++) {
            _inflowLimit(configs[i].dstEid, 0); // checkpoint: the new rate does not apply retroactively
            RateLimit storage rl = inboundLimits[configs[i].dstEid];
            rl.limit = configs[i].limit;
            rl.window = configs[i].window;
        }
        emit InboundRateLimitsChanged(configs);
    }

    /// @notice What may arrive from `srcEid` now, and what is counted in the current window.
    function getAmountCanBeReceived(uint32 srcEid) public view returns (uint256 inFlight, uint256 available) {
        RateLimit memory rl = inboundLimits[srcEid];
        return _amountCanBeSent(rl.amountInFlight, rl.lastUpdated, rl.limit, rl.window);
    }

    function _inflowLimit(uint32 srcEid, uint256 amount) internal {
        (uint256 inFlight, uint256 available) = getAmountCanBeReceived(srcEid);
        if (amount > available) revert InboundRateLimitExceeded(srcEid, amount, available);
        RateLimit storage rl = inboundLimits[srcEid];
        rl.amountInFlight = uint192(inFlight + amount);
        rl.lastUpdated = uint64(block.timestamp);
    }

    /// @dev Every send passes here: paused, a denied sender or recipient, a compose are refused first.
    function _send(SendParam calldata p, MessagingFee calldata fee, address refund)
        internal
        virtual
        override
        whenNotPaused
        returns (MessagingReceipt memory, OFTReceipt memory)
    {
        if (isDenied(msg.sender)) revert AccountDenied(msg.sender);
        address to = address(uint160(uint256(p.to)));
        if (isDenied(to)) revert AccountDenied(to);
        if (p.composeMsg.length > 0) revert ComposeNotSupported();
        return super._send(p, fee, refund);
    }

    /// @dev A delivery to a denied account, while paused, or over the inbound limit reverts: the packet stays
    ///      verified at the endpoint and can be delivered once the account is cleared, the bridge unpaused, or
    ///      the window has freed enough.
    function _checkCredit(address to, uint256 amountLD, uint32 srcEid) internal {
        _requireNotPaused();
        if (isDenied(to)) revert AccountDenied(to);
        _inflowLimit(srcEid, amountLD);
    }
}

/// @title GaibOFTAdapter
/// @notice The home chain's end of the bridge for AID or sAID: it locks the tokens sent away and unlocks
///         them when they come back. What it holds is what the remote chains may have minted, no more.
/// @dev The deny list is the home token's own (AID's `isDenied`; sAID follows AID's list).
contract GaibOFTAdapter is OFTAdapter, BridgeControls {
    /// @notice The contract whose `isDenied` this adapter consults (AID).
    IDenyList public immutable denyList;

    constructor(address token_, address denyList_, address endpoint_, address owner_)
        OFTAdapter(token_, endpoint_, owner_)
        Ownable(owner_)
    {
        denyList = IDenyList(denyList_);
    }

    /// @inheritdoc BridgeControls
    function isDenied(address account) public view override returns (bool) {
        return denyList.isDenied(account);
    }

    function _send(SendParam calldata p, MessagingFee calldata fee, address refund)
        internal
        override(OFTCore, BridgeControls)
        returns (MessagingReceipt memory, OFTReceipt memory)
    {
        return BridgeControls._send(p, fee, refund);
    }

    function _debit(address from, uint256 amountLD, uint256 minAmountLD, uint32 dstEid)
        internal
        override(OFTAdapter, OFTCore)
        returns (uint256 amountSentLD, uint256 amountReceivedLD)
    {
        (amountSentLD, amountReceivedLD) = super._debit(from, amountLD, minAmountLD, dstEid);
        _outflow(dstEid, amountSentLD); // the outbound limit counts what is debited here
    }

    function _credit(address to, uint256 amountLD, uint32 srcEid) internal override(OFTAdapter, OFTCore) returns (uint256) {
        _checkCredit(to, amountLD, srcEid);
        return super._credit(to, amountLD, srcEid);
    }
}

/// @title GaibOFT
/// @notice AID or sAID on a remote chain: minted when tokens locked at home arrive, burned when they leave.
/// @dev Its deny list is its own, kept in sync with the home chain's by the owner or a deny-list manager
///      (the SDK's `sync_deny_list`); it holds on every movement here, as AID's does at home.
contract GaibOFT is OFT, BridgeControls {
    /// @notice Accounts refused on this chain: they can neither move these tokens nor bridge them.
    mapping(address => bool) private _denied;
    /// @notice Who may change the deny list besides the owner.
    address public denyListManager;

    event Denied(address indexed account, bool denied);
    event DenyListManagerSet(address indexed manager);

    error NotDenyListManager(address caller);

    constructor(string memory name_, string memory symbol_, address endpoint_, address owner_)
        OFT(name_, symbol_, endpoint_, owner_)
        Ownable(owner_)
    {}

    /// @inheritdoc BridgeControls
    function isDenied(address account) public view override returns (bool) {
        return _denied[account];
    }

    /// @notice Set who may change the deny list besides the owner.
    function setDenyListManager(address manager) external onlyOwner {
        denyListManager = manager;
        emit DenyListManagerSet(manager);
    }

    /// @notice Deny or clear `account` on this chain (mirrors the home chain's list).
    function setDenied(address account, bool denied) external {
        if (msg.sender != owner() && msg.sender != denyListManager) revert NotDenyListManager(msg.sender);
        _denied[account] = denied;
        emit Denied(account, denied);
    }

    function _send(SendParam calldata p, MessagingFee calldata fee, address refund)
        internal
        override(OFTCore, BridgeControls)
        returns (MessagingReceipt memory, OFTReceipt memory)
    {
        return BridgeControls._send(p, fee, refund);
    }

    function _debit(address from, uint256 amountLD, uint256 minAmountLD, uint32 dstEid)
        internal
        override(OFT, OFTCore)
        returns (uint256 amountSentLD, uint256 amountReceivedLD)
    {
        (amountSentLD, amountReceivedLD) = super._debit(from, amountLD, minAmountLD, dstEid);
        _outflow(dstEid, amountSentLD); // the outbound limit counts what is debited here
    }

    function _credit(address to, uint256 amountLD, uint32 srcEid) internal override(OFT, OFTCore) returns (uint256) {
        _checkCredit(to, amountLD, srcEid);
        return super._credit(to, amountLD, srcEid);
    }

    /// @dev The deny list holds on every movement, as on the home chain.
    function _update(address from, address to, uint256 value) internal override {
        if (_denied[from]) revert AccountDenied(from);
        if (_denied[to]) revert AccountDenied(to);
        super._update(from, to, value);
    }
}
