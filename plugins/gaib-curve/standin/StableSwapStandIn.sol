// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title StableSwapStandIn: test stand-in, not Curve's code.
/// @notice A StableSwap pool written by the gaib-sdk project for tests and development chains only. Curve's
/// StableSwap-NG pool (Vyper) is published in no package the project can build from, so this contract
/// implements the same invariant (Newton's method for D and y, amplification A with A_PRECISION 100, fees
/// in 1e10, the off-peg dynamic fee, rate multipliers 10**(36 - decimals)) behind the same function
/// signatures as the subset of Curve's plain-stableswap-ng ABI the gaib-curve adapter uses. The pool is its
/// own LP token, as in NG. It has no oracle, no A ramping, no admin-fee withdrawal and no rebasing or
/// oracle-rate coins: never deploy it where real money is at stake.
contract StableSwapStandIn is ERC20, ReentrancyGuard {
    using SafeERC20 for IERC20Metadata;

    uint256 private constant A_PRECISION = 100;
    uint256 private constant FEE_DENOMINATOR = 1e10;
    uint256 private constant PRECISION = 1e18;
    uint256 private constant ADMIN_FEE = 5e9; // 50% of fees, as NG
    uint256 private constant MAX_ITERATIONS = 255;

    uint256 public immutable N_COINS;
    address[] public coins;
    uint256[] private rateMultipliers;
    uint256[] public balances;
    uint256[] public admin_balances;
    uint256 public immutable A_precise;
    uint256 public immutable fee;
    uint256 public immutable offpeg_fee_multiplier;
    uint256 public immutable ma_exp_time;

    event TokenExchange(address indexed buyer, int128 sold_id, uint256 tokens_sold, int128 bought_id, uint256 tokens_bought);
    event AddLiquidity(address indexed provider, uint256[] token_amounts, uint256[] fees, uint256 invariant, uint256 token_supply);
    event RemoveLiquidity(address indexed provider, uint256[] token_amounts, uint256[] fees, uint256 token_supply);
    event RemoveLiquidityOne(address indexed provider, int128 token_id, uint256 token_amount, uint256 coin_amount, uint256 token_supply);
    event RemoveLiquidityImbalance(address indexed provider, uint256[] token_amounts, uint256[] fees, uint256 invariant, uint256 token_supply);

    constructor(
        string memory _name,
        string memory _symbol,
        address[] memory _coins,
        uint256 _A,
        uint256 _fee,
        uint256 _offpeg_fee_multiplier,
        uint256 _ma_exp_time
    ) ERC20(_name, _symbol) {
        uint256 n = _coins.length;
        require(n >= 2 && n <= 8, "2 to 8 coins");
        require(_A > 0 && _A <= 1e6, "Invalid A");
        require(_fee <= 1e8, "Invalid fee");
        N_COINS = n;
        for (uint256 i = 0; i < n; ++i) {
            uint8 decimals = IERC20Metadata(_coins[i]).decimals();
            require(decimals <= 18, "Max 18 decimals for coins");
            coins.push(_coins[i]);
            rateMultipliers.push(10 ** (36 - uint256(decimals)));
            balances.push(0);
            admin_balances.push(0);
        }
        A_precise = _A * A_PRECISION;
        fee = _fee;
        offpeg_fee_multiplier = _offpeg_fee_multiplier;
        ma_exp_time = _ma_exp_time;
        // As NG: the pool logs a transfer to itself, so indexers (and the factory's caller) see it as a token.
        emit Transfer(address(0), address(this), 0);
    }

    // ---- views ----

    function A() external view returns (uint256) {
        return A_precise / A_PRECISION;
    }

    function admin_fee() external pure returns (uint256) {
        return ADMIN_FEE;
    }

    function version() external pure returns (string memory) {
        return "stand-in";
    }

    function get_balances() external view returns (uint256[] memory) {
        return balances;
    }

    function stored_rates() external view returns (uint256[] memory) {
        return rateMultipliers;
    }

    function get_virtual_price() external view returns (uint256) {
        uint256 supply = totalSupply();
        require(supply > 0, "empty pool");
        return _getD(_xp(balances), A_precise) * PRECISION / supply;
    }

    function dynamic_fee(int128 i, int128 j) external view returns (uint256) {
        uint256[] memory xp = _xp(balances);
        return _dynamicFee(xp[_index(i)], xp[_index(j)], fee);
    }

    function get_dy(int128 i, int128 j, uint256 dx) external view returns (uint256) {
        (uint256 dy,,) = _exchangeOut(_index(i), _index(j), dx);
        return dy;
    }

    function calc_token_amount(uint256[] calldata _amounts, bool _is_deposit) external view returns (uint256) {
        require(_amounts.length == N_COINS, "wrong number of amounts");
        uint256[] memory old = balances;
        uint256[] memory next = new uint256[](N_COINS);
        for (uint256 k = 0; k < N_COINS; ++k) {
            next[k] = _is_deposit ? old[k] + _amounts[k] : old[k] - _amounts[k];
        }
        uint256 supply = totalSupply();
        (uint256 d0, uint256 d2,) = _liquidityChange(old, next, supply);
        if (supply == 0) return d2;
        uint256 diff = _is_deposit ? d2 - d0 : d0 - d2;
        return diff * supply / d0;
    }

    function calc_withdraw_one_coin(uint256 _burn_amount, int128 i) external view returns (uint256) {
        (uint256 dy,) = _withdrawOneCoin(_burn_amount, _index(i));
        return dy;
    }

    // ---- actions ----

    function exchange(int128 i, int128 j, uint256 _dx, uint256 _min_dy) external nonReentrant returns (uint256) {
        uint256 a = _index(i);
        uint256 b = _index(j);
        require(_dx > 0, "dx must be more than 0");
        (uint256 dy, uint256 adminFee,) = _exchangeOut(a, b, _dx);
        require(dy >= _min_dy, "Exchange resulted in fewer coins than expected");
        IERC20Metadata(coins[a]).safeTransferFrom(msg.sender, address(this), _dx);
        balances[a] += _dx;
        balances[b] -= dy + adminFee;
        admin_balances[b] += adminFee;
        IERC20Metadata(coins[b]).safeTransfer(msg.sender, dy);
        emit TokenExchange(msg.sender, i, _dx, j, dy);
        return dy;
    }

    function add_liquidity(uint256[] calldata _amounts, uint256 _min_mint_amount)
        external
        nonReentrant
        returns (uint256)
    {
        require(_amounts.length == N_COINS, "wrong number of amounts");
        uint256 supply = totalSupply();
        uint256[] memory old = balances;
        uint256[] memory next = new uint256[](N_COINS);
        for (uint256 k = 0; k < N_COINS; ++k) {
            if (supply == 0) require(_amounts[k] > 0, "initial deposit requires all coins");
            next[k] = old[k] + _amounts[k];
        }
        (uint256 d0, uint256 d2, uint256[] memory fees) = _liquidityChange(old, next, supply);
        uint256 mint = supply == 0 ? d2 : supply * (d2 - d0) / d0;
        require(mint > 0, "nothing to mint");
        require(mint >= _min_mint_amount, "Slippage screwed you");
        for (uint256 k = 0; k < N_COINS; ++k) {
            if (_amounts[k] > 0) IERC20Metadata(coins[k]).safeTransferFrom(msg.sender, address(this), _amounts[k]);
            uint256 adminFee = fees[k] * ADMIN_FEE / FEE_DENOMINATOR;
            balances[k] = next[k] - adminFee;
            admin_balances[k] += adminFee;
        }
        _mint(msg.sender, mint);
        emit AddLiquidity(msg.sender, _amounts, fees, d2, supply + mint);
        return mint;
    }

    function remove_liquidity(uint256 _burn_amount, uint256[] calldata _min_amounts)
        external
        nonReentrant
        returns (uint256[] memory)
    {
        require(_min_amounts.length == N_COINS, "wrong number of amounts");
        uint256 supply = totalSupply();
        require(_burn_amount > 0 && _burn_amount <= balanceOf(msg.sender), "burn amount exceeds balance");
        uint256[] memory amounts = new uint256[](N_COINS);
        _burn(msg.sender, _burn_amount);
        for (uint256 k = 0; k < N_COINS; ++k) {
            uint256 value = balances[k] * _burn_amount / supply;
            require(value >= _min_amounts[k], "Withdrawal resulted in fewer coins than expected");
            amounts[k] = value;
            balances[k] -= value;
            IERC20Metadata(coins[k]).safeTransfer(msg.sender, value);
        }
        emit RemoveLiquidity(msg.sender, amounts, new uint256[](N_COINS), supply - _burn_amount);
        return amounts;
    }

    function remove_liquidity_imbalance(uint256[] calldata _amounts, uint256 _max_burn_amount)
        external
        nonReentrant
        returns (uint256)
    {
        require(_amounts.length == N_COINS, "wrong number of amounts");
        uint256 supply = totalSupply();
        uint256[] memory old = balances;
        uint256[] memory next = new uint256[](N_COINS);
        for (uint256 k = 0; k < N_COINS; ++k) {
            next[k] = old[k] - _amounts[k];
        }
        (uint256 d0, uint256 d2, uint256[] memory fees) = _liquidityChange(old, next, supply);
        uint256 burn = (d0 - d2) * supply / d0 + 1;
        require(burn > 1, "Zero tokens burned");
        require(burn <= _max_burn_amount, "Slippage screwed you");
        _burn(msg.sender, burn);
        for (uint256 k = 0; k < N_COINS; ++k) {
            uint256 adminFee = fees[k] * ADMIN_FEE / FEE_DENOMINATOR;
            balances[k] = next[k] - adminFee;
            admin_balances[k] += adminFee;
            if (_amounts[k] > 0) IERC20Metadata(coins[k]).safeTransfer(msg.sender, _amounts[k]);
        }
        emit RemoveLiquidityImbalance(msg.sender, _amounts, fees, d2, supply - burn);
        return burn;
    }

    function remove_liquidity_one_coin(uint256 _burn_amount, int128 i, uint256 _min_received)
        external
        nonReentrant
        returns (uint256)
    {
        uint256 k = _index(i);
        (uint256 dy, uint256 feeAmount) = _withdrawOneCoin(_burn_amount, k);
        require(dy >= _min_received, "Not enough coins removed");
        uint256 adminFee = feeAmount * ADMIN_FEE / FEE_DENOMINATOR;
        balances[k] -= dy + adminFee;
        admin_balances[k] += adminFee;
        _burn(msg.sender, _burn_amount);
        IERC20Metadata(coins[k]).safeTransfer(msg.sender, dy);
        emit RemoveLiquidityOne(msg.sender, i, _burn_amount, dy, totalSupply());
        return dy;
    }

    // ---- the StableSwap math ----

    function _index(int128 i) private view returns (uint256) {
        require(i >= 0 && uint256(uint128(i)) < N_COINS, "coin index out of range");
        return uint256(uint128(i));
    }

    function _xp(uint256[] memory bal) private view returns (uint256[] memory xp) {
        xp = new uint256[](N_COINS);
        for (uint256 k = 0; k < N_COINS; ++k) {
            xp[k] = rateMultipliers[k] * bal[k] / PRECISION;
        }
    }

    /// The fee rises as the two balances move apart: fee * m / ((m - 1) * 4 xi xj / (xi + xj)^2 + 1).
    function _dynamicFee(uint256 xpi, uint256 xpj, uint256 _fee) private view returns (uint256) {
        uint256 m = offpeg_fee_multiplier;
        if (m <= FEE_DENOMINATOR) return _fee;
        uint256 xps2 = (xpi + xpj) * (xpi + xpj);
        return (m * _fee) / ((m - FEE_DENOMINATOR) * 4 * xpi * xpj / xps2 + FEE_DENOMINATOR);
    }

    /// D solves A n^n S + D = A D n^n + D^(n+1) / (n^n prod(x)), by Newton's method from D = S.
    function _getD(uint256[] memory xp, uint256 amp) private view returns (uint256) {
        uint256 n = N_COINS;
        uint256 s = 0;
        for (uint256 k = 0; k < n; ++k) {
            s += xp[k];
        }
        if (s == 0) return 0;
        uint256 d = s;
        uint256 ann = amp * n;
        for (uint256 it = 0; it < MAX_ITERATIONS; ++it) {
            uint256 dP = d;
            for (uint256 k = 0; k < n; ++k) {
                dP = dP * d / xp[k];
            }
            dP /= n ** n;
            uint256 dPrev = d;
            d = (ann * s / A_PRECISION + dP * n) * d / ((ann - A_PRECISION) * d / A_PRECISION + (n + 1) * dP);
            if (d > dPrev ? d - dPrev <= 1 : dPrev - d <= 1) return d;
        }
        revert("D did not converge");
    }

    /// The balance y of coin j that keeps D when coin i's balance becomes x (Newton's method on
    /// y^2 + (b - D) y = c).
    function _getY(uint256 i, uint256 j, uint256 x, uint256[] memory xp, uint256 amp, uint256 d)
        private
        view
        returns (uint256)
    {
        require(i != j, "same coin");
        uint256 n = N_COINS;
        uint256 ann = amp * n;
        uint256 c = d;
        uint256 s = 0;
        for (uint256 k = 0; k < n; ++k) {
            uint256 xk;
            if (k == i) xk = x;
            else if (k != j) xk = xp[k];
            else continue;
            s += xk;
            c = c * d / (xk * n);
        }
        return _solveY(s, c, d, ann);
    }

    /// The balance of coin i that gives invariant D with the other balances unchanged.
    function _getYD(uint256 amp, uint256 i, uint256[] memory xp, uint256 d) private view returns (uint256) {
        uint256 n = N_COINS;
        uint256 ann = amp * n;
        uint256 c = d;
        uint256 s = 0;
        for (uint256 k = 0; k < n; ++k) {
            if (k == i) continue;
            s += xp[k];
            c = c * d / (xp[k] * n);
        }
        return _solveY(s, c, d, ann);
    }

    function _solveY(uint256 s, uint256 c, uint256 d, uint256 ann) private view returns (uint256) {
        c = c * d * A_PRECISION / (ann * N_COINS);
        uint256 b = s + d * A_PRECISION / ann;
        uint256 y = d;
        for (uint256 it = 0; it < MAX_ITERATIONS; ++it) {
            uint256 yPrev = y;
            y = (y * y + c) / (2 * y + b - d);
            if (y > yPrev ? y - yPrev <= 1 : yPrev - y <= 1) return y;
        }
        revert("y did not converge");
    }

    function _exchangeOut(uint256 i, uint256 j, uint256 dx)
        private
        view
        returns (uint256 dy, uint256 adminFee, uint256 dyFee)
    {
        uint256[] memory xp = _xp(balances);
        uint256 x = xp[i] + dx * rateMultipliers[i] / PRECISION;
        uint256 y = _getY(i, j, x, xp, A_precise, _getD(xp, A_precise));
        uint256 dyXp = xp[j] - y - 1;
        dyFee = _dynamicFee((xp[i] + x) / 2, (xp[j] + y) / 2, fee) * dyXp / FEE_DENOMINATOR;
        dy = (dyXp - dyFee) * PRECISION / rateMultipliers[j];
        adminFee = dyFee * ADMIN_FEE / FEE_DENOMINATOR * PRECISION / rateMultipliers[j];
    }

    /// D before and after moving the balances from ``old`` to ``next``, the latter net of the fee charged
    /// on the part of the change that is not proportional to the pool (and those fees, per coin).
    function _liquidityChange(uint256[] memory old, uint256[] memory next, uint256 supply)
        private
        view
        returns (uint256 d0, uint256 d2, uint256[] memory fees)
    {
        d0 = _getD(_xp(old), A_precise);
        uint256 d1 = _getD(_xp(next), A_precise);
        fees = new uint256[](N_COINS);
        if (supply == 0) return (d0, d1, fees);
        require(d1 != d0, "no change in D");
        uint256[] memory charged = new uint256[](N_COINS);
        for (uint256 k = 0; k < N_COINS; ++k) {
            fees[k] = _imbalanceFee(k, old[k], next[k], d0, d1);
            charged[k] = next[k] - fees[k];
        }
        d2 = _getD(_xp(charged), A_precise);
    }

    /// The fee on coin k's part of a liquidity change beyond the proportional one (ideal balance D1/D0 * old).
    function _imbalanceFee(uint256 k, uint256 oldK, uint256 nextK, uint256 d0, uint256 d1)
        private
        view
        returns (uint256)
    {
        uint256 n = N_COINS;
        uint256 ideal = d1 * oldK / d0;
        uint256 difference = ideal > nextK ? ideal - nextK : nextK - ideal;
        uint256 xs = rateMultipliers[k] * (oldK + nextK) / PRECISION;
        uint256 baseFee = fee * n / (4 * (n - 1));
        return _dynamicFee(xs, (d0 + d1) / n, baseFee) * difference / FEE_DENOMINATOR;
    }

    function _withdrawOneCoin(uint256 burn, uint256 i) private view returns (uint256 dy, uint256 feeAmount) {
        uint256[] memory xp = _xp(balances);
        uint256 d1;
        uint256 newY;
        uint256[] memory reduced;
        {
            uint256 supply = totalSupply();
            require(burn > 0 && burn <= supply, "burn amount out of range");
            uint256 d0 = _getD(xp, A_precise);
            d1 = d0 - burn * d0 / supply;
            newY = _getYD(A_precise, i, xp, d1);
            reduced = _reducedXp(xp, i, d0, d1, newY);
        }
        uint256 dyXp = reduced[i] - _getYD(A_precise, i, reduced, d1);
        dy = (dyXp - 1) * PRECISION / rateMultipliers[i];
        feeAmount = (xp[i] - newY) * PRECISION / rateMultipliers[i] - dy;
    }

    /// The balances less the fee on what a one-coin withdrawal takes beyond its proportional share.
    function _reducedXp(uint256[] memory xp, uint256 i, uint256 d0, uint256 d1, uint256 newY)
        private
        view
        returns (uint256[] memory reduced)
    {
        uint256 n = N_COINS;
        uint256 baseFee = fee * n / (4 * (n - 1));
        uint256 ys = (d0 + d1) / (2 * n);
        reduced = new uint256[](n);
        for (uint256 k = 0; k < n; ++k) {
            uint256 expected;
            uint256 xavg;
            if (k == i) {
                expected = xp[k] * d1 / d0 - newY;
                xavg = (xp[k] + newY) / 2;
            } else {
                expected = xp[k] - xp[k] * d1 / d0;
                xavg = xp[k];
            }
            reduced[k] = xp[k] - _dynamicFee(xavg, ys, baseFee) * expected / FEE_DENOMINATOR;
        }
    }
}

/// @title StableSwapFactoryStandIn: test stand-in, not Curve's code.
/// @notice A minimal factory with the signature of Curve StableSwap-NG's ``deploy_plain_pool`` and the views
/// of its ABI the gaib-curve adapter reads, deploying a StableSwapStandIn. The arguments NG uses for its
/// oracle machinery (moving-average time, asset types, method ids, oracles) are checked for shape only:
/// asset type 0 (a plain ERC-20) is the only one supported. For tests and development chains only.
contract StableSwapFactoryStandIn {
    uint256 private constant MAX_COINS = 8;
    uint256 private constant FEE_DENOMINATOR = 1e10;
    uint256 private constant MAX_FEE = 5e9;

    address public admin;
    address public fee_receiver;
    address[] public pool_list;
    mapping(address => address[]) private poolCoins;
    mapping(bytes32 => address[]) private markets;

    event PlainPoolDeployed(address[] coins, uint256 A, uint256 fee, address deployer);

    constructor(address _fee_receiver, address _owner) {
        fee_receiver = _fee_receiver;
        admin = _owner;
    }

    function deploy_plain_pool(
        string memory _name,
        string memory _symbol,
        address[] memory _coins,
        uint256 _A,
        uint256 _fee,
        uint256 _offpeg_fee_multiplier,
        uint256 _ma_exp_time,
        uint256 _implementation_idx,
        uint8[] memory _asset_types,
        bytes4[] memory _method_ids,
        address[] memory _oracles
    ) external returns (address) {
        uint256 n = _coins.length;
        require(n >= 2 && n <= MAX_COINS, "Invalid number of coins");
        require(_asset_types.length == n && _method_ids.length == n && _oracles.length == n, "length mismatch");
        require(_implementation_idx == 0, "Invalid implementation index");
        require(_fee <= 100000000, "Invalid fee");
        require(_offpeg_fee_multiplier * _fee <= MAX_FEE * FEE_DENOMINATOR, "Offpeg multiplier exceeds maximum");
        require(bytes(_name).length <= 32 && bytes(_symbol).length <= 10, "name or symbol too long");
        _checkCoins(_coins, _asset_types);
        address pool =
            address(new StableSwapStandIn(_name, _symbol, _coins, _A, _fee, _offpeg_fee_multiplier, _ma_exp_time));
        _register(pool, _coins);
        emit PlainPoolDeployed(_coins, _A, _fee, msg.sender);
        return pool;
    }

    function _register(address pool, address[] memory _coins) private {
        pool_list.push(pool);
        poolCoins[pool] = _coins;
        for (uint256 i = 0; i < _coins.length; ++i) {
            for (uint256 j = i + 1; j < _coins.length; ++j) {
                markets[_key(_coins[i], _coins[j])].push(pool);
            }
        }
    }

    function _checkCoins(address[] memory _coins, uint8[] memory _asset_types) private pure {
        for (uint256 i = 0; i < _coins.length; ++i) {
            require(_asset_types[i] == 0, "stand-in supports plain ERC-20 coins (asset type 0) only");
            for (uint256 j = 0; j < i; ++j) {
                require(_coins[i] != _coins[j], "Duplicate coins");
            }
        }
    }

    function _key(address a, address b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function pool_count() external view returns (uint256) {
        return pool_list.length;
    }

    function find_pool_for_coins(address _from, address _to) external view returns (address) {
        return find_pool_for_coins(_from, _to, 0);
    }

    function find_pool_for_coins(address _from, address _to, uint256 i) public view returns (address) {
        address[] storage found = markets[_key(_from, _to)];
        return i < found.length ? found[i] : address(0);
    }

    function get_coins(address _pool) external view returns (address[] memory) {
        return poolCoins[_pool];
    }

    function get_n_coins(address _pool) external view returns (uint256) {
        return poolCoins[_pool].length;
    }

    function get_balances(address _pool) external view returns (uint256[] memory) {
        return StableSwapStandIn(_pool).get_balances();
    }

    function get_decimals(address _pool) external view returns (uint256[] memory out) {
        address[] storage c = poolCoins[_pool];
        out = new uint256[](c.length);
        for (uint256 i = 0; i < c.length; ++i) {
            out[i] = IERC20Metadata(c[i]).decimals();
        }
    }

    function get_A(address _pool) external view returns (uint256) {
        return StableSwapStandIn(_pool).A();
    }

    function get_fees(address _pool) external view returns (uint256, uint256) {
        return (StableSwapStandIn(_pool).fee(), StableSwapStandIn(_pool).admin_fee());
    }

    function get_coin_indices(address _pool, address _from, address _to) external view returns (int128, int128, bool) {
        address[] storage c = poolCoins[_pool];
        int128 i = -1;
        int128 j = -1;
        for (uint256 k = 0; k < c.length; ++k) {
            if (c[k] == _from) i = int128(uint128(k));
            if (c[k] == _to) j = int128(uint128(k));
        }
        require(i >= 0 && j >= 0 && i != j, "Coins not found");
        return (i, j, false);
    }

    function is_meta(address) external pure returns (bool) {
        return false;
    }
}
