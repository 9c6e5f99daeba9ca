"""Render a :class:`~gaib_sdk.report.data.ReportData` as a page to look at: ``index.html`` (plain HTML and
CSS, no script), one PNG per plot beside it, and ``report.json`` with the same figures.

Pure rendering: nothing here touches the chain. matplotlib is imported only when a report is rendered
(``pip install 'gaib-sdk[report]'``), and draws with its Agg canvas, set per figure rather than through
``matplotlib.use``, so rendering needs no display and leaves the backend of a caller's own plots alone.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gaib_sdk.errors import GaibConfigError
from gaib_sdk.models import MonteCarloResult
from gaib_sdk.report.data import DealReport, LedgerPoint, NavPoint, ReportData, aid, usdc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PLOTS", "render", "require_matplotlib"]

#: The plots, in the order of the page.
PLOTS = ("nav.png", "deposit-exit.png", "ltv.png", "payments.png", "waterfall.png", "stress.png")

_COLORS = {
    "reserve": "#4C78A8",
    "deployed": "#F58518",
    "loss": "#E45756",
    "supply": "#222222",
    "said": "#54A24B",
    "deposit": "#4C78A8",
    "exit": "#E45756",
    "fees": "#9D9D9D",
    "interest": "#54A24B",
    "principal": "#4C78A8",
    "excess": "#BAB0AC",
    "recovered": "#B279A2",
}
_DEAL_COLORS = ("#4C78A8", "#F58518", "#B279A2", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#9D755D")
_STYLE = {
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "savefig.dpi": 110,
    "figure.dpi": 110,
}


def require_matplotlib() -> Any:
    """The matplotlib module, or a GaibConfigError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise GaibConfigError(
            "the report draws its plots with matplotlib, which is not installed: pip install 'gaib-sdk[report]'"
        ) from exc
    return matplotlib


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# ---- numbers for people ----


def _fmt(value: Decimal, places: int = 2) -> str:
    return f"{value:,.{places}f}"


def _u(units: int) -> str:
    """USDC units as '1,234.56 USDC'."""
    return f"{_fmt(usdc(units))} USDC"


def _pct(value: float | Decimal | Fraction, places: int = 1) -> str:
    return f"{float(value) * 100:.{places}f}%"


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


def _short_money(value: float, _pos: object = None) -> str:
    sign, v = ("-" if value < 0 else ""), abs(value)
    if v >= 1e6:
        return f"{sign}{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{sign}{v / 1e3:.0f}k"
    return f"{sign}{v:.0f}" if v == round(v) else f"{sign}{v:.2g}"


def _dates(timestamps: Sequence[int]) -> list[float]:
    from matplotlib.dates import date2num

    return [float(date2num(datetime.fromtimestamp(t, UTC))) for t in timestamps]  # type: ignore[no-untyped-call]


def _date_axis(ax: Axes, x: Sequence[float]) -> None:
    """Dates on the x axis; a day either side when there is only one instant to show."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if x and min(x) == max(x):
        ax.set_xlim(x[0] - 1, x[0] + 1)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.set_xlabel("date (UTC)")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _money_axis(ax: Axes, label: str) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(_short_money))
    ax.set_ylabel(label)


def _markers(ax: Axes, data: ReportData, *, labels: bool) -> None:
    """Dotted verticals at the events that matter to NAV: defaults, liquidations, queued redemptions."""
    events: list[tuple[int, str]] = []
    for deal in data.deals:
        for e in deal.events:
            if e.name == "defaulted":
                events.append((e.timestamp, f"deal {deal.deal_id} defaults"))
            elif e.name == "liquidated":
                events.append((e.timestamp, f"deal {deal.deal_id} liquidated,\nloss {_fmt(usdc(e.amount), 0)} USDC"))
    for entry in data.ledger:
        if entry.event == "RedemptionRequested":
            owed = entry.number("stableOwed")
            events.append((entry.timestamp, f"redemption of\n{_fmt(usdc(owed), 0)} USDC asked"))
    for x, (_, text) in zip(_dates([t for t, _ in events]), events, strict=True):
        ax.axvline(x, color="#666666", linestyle=":", linewidth=1)
        if labels:
            ax.annotate(
                text,
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                va="top",
                fontsize=8,
                color="#444444",
                annotation_clip=True,  # an event before the first point (a node without past state) is not drawn
            )


# ---- the plots ----


def _plot_nav(data: ReportData, path: Path) -> None:
    fig = _figure(10, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    # a node without past state: AID's balance sheet over time is summed from the logs
    series: Sequence[NavPoint | LedgerPoint] = data.ledger_nav if data.history == "events" else data.nav
    x = _dates([p.timestamp for p in series])
    reserve = [float(usdc(p.reserve)) for p in series]
    deployed = [float(usdc(p.principal_deployed)) for p in series]
    loss = [float(usdc(p.uncovered_loss)) for p in series]
    supply = [float(aid(p.aid_supply)) for p in series]
    base = [0.0] * len(x)
    layers = [
        (reserve, "reserve", "liquid reserve (USDC held by AID)"),
        (deployed, "deployed", "lent out in deals (principal deployed)"),
        (loss, "loss", "uncovered loss (not absorbed by sAID)"),
    ]
    for values, color, label in layers:
        upper = [b + v for b, v in zip(base, values, strict=True)]
        if any(values) or color != "loss":
            top.fill_between(x, base, upper, step="post", color=_COLORS[color], alpha=0.75, linewidth=0, label=label)
        base = upper
    # the supply as markers: it sits exactly on the stack (the backing equation), and both stay visible
    top.plot(x, supply, "o", color=_COLORS["supply"], markerfacecolor="none", markersize=5, label="AID supply")
    top.set_title("What backs AID: reserve + principal deployed (+ uncovered loss) = AID supply")
    _money_axis(top, "USDC (1 AID = 1 USDC)")
    top.legend(loc="upper left", bbox_to_anchor=(0.0, -0.02, 1, 0), ncols=4, fontsize=8)
    top.set_ylim(0, max(supply + [1.0]) * 1.25)
    _markers(top, data, labels=True)

    assets = [float(aid(p.said_total_assets)) for p in data.nav]
    sx = _dates([p.timestamp for p in data.nav])
    bottom.fill_between(sx, 0, assets, step="post", color=_COLORS["said"], alpha=0.35, linewidth=0)
    bottom.step(sx, assets, where="post", color=_COLORS["said"], linewidth=2, label="AID in the sAID vault (vested)")
    bottom.plot(sx[-1:], assets[-1:], "o", color=_COLORS["said"])
    bottom.set_title(
        "sAID vault: AID held for stakers (total assets)"
        + (": the report's block only (no past state)" if data.history == "events" else "")
    )
    _money_axis(bottom, "AID")
    bottom.set_ylim(0, max(assets + [1.0]) * 1.2)
    _markers(bottom, data, labels=False)
    _date_axis(bottom, x)
    fig.savefig(path)


def _plot_deposit_exit(data: ReportData, path: Path) -> None:
    fig = _figure(10, 7.4)
    top, middle, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[2.4, 2, 1.3])
    x = _dates([p.timestamp for p in data.nav])
    book = [float(aid(p.share_price)) for p in data.nav]
    fair = [float(aid(p.fair_value_per_share)) for p in data.nav]
    top.step(x, book, where="post", color=_COLORS["deposit"], linewidth=2, label="book NAV (share price)")
    # the fair value as markers on the same axis: where the two are equal both stay visible
    top.plot(x, fair, "o", color=_COLORS["said"], markerfacecolor="none", markersize=6, label="fair value per share")
    if len(x) == 1:  # one point (a node without past state): a step draws nothing, a marker does
        top.plot(x, book, "s", color=_COLORS["deposit"])
    only = ": the report's block only (no past state)" if data.history == "events" else ""
    top.set_title("sAID per share: book NAV and fair value" + only)
    top.set_ylabel("USDC per sAID share")
    low, high = min(book + fair + [1.0]), max(book + fair + [1.0])
    top.set_ylim(low - (high - low) * 0.3 - 0.01, high + (high - low) * 0.3 + 0.01)
    top.legend(loc="lower left", ncols=2, fontsize=8)
    _markers(top, data, labels=True)

    exit_ = [float(aid(p.instant_exit_value)) for p in data.nav]
    middle.fill_between(x, 0, exit_, step="post", color=_COLORS["exit"], alpha=0.35, linewidth=0)
    middle.step(x, exit_, where="post", color=_COLORS["exit"], linewidth=2, label="instant exit value")
    if len(x) == 1:
        middle.plot(x, exit_, "o", color=_COLORS["exit"])
    middle.set_title("Instant exit value: what a share pays out at once (share price x liquid cover)", fontsize=10)
    middle.set_ylabel("USDC per sAID share")
    middle.set_ylim(0, max(book + [1.0]) * 1.2)
    last = data.latest
    middle.annotate(
        f"{aid(last.instant_exit_value):.4f}",
        (x[-1], float(aid(last.instant_exit_value))),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        color=_COLORS["exit"],
        fontsize=9,
        fontweight="bold",
    )
    _markers(middle, data, labels=False)

    queue: Sequence[NavPoint | LedgerPoint] = data.ledger_nav if data.history == "events" else data.nav
    queued = [float(usdc(p.queued_stable)) for p in queue]
    bottom.fill_between(
        _dates([p.timestamp for p in queue]), 0, queued, step="post", color=_COLORS["exit"], alpha=0.5, linewidth=0
    )
    bottom.set_title("Redemption queue: USDC owed to requests still waiting", fontsize=10)
    _money_axis(bottom, "USDC")
    bottom.set_ylim(0, max(queued + [1.0]) * 1.25)
    _markers(bottom, data, labels=False)
    _date_axis(bottom, _dates([p.timestamp for p in queue]))
    fig.savefig(path)


def _plot_ltv(data: ReportData, path: Path) -> None:
    fig = _figure(10, 4.6)
    ax = fig.subplots()
    for i, deal in enumerate(data.deals):
        color = _DEAL_COLORS[i % len(_DEAL_COLORS)]
        # a liquidated deal's line ends where it was sold: its principal is gone, not repaid
        shown = [p for p in deal.history if p.status != "liquidated"]
        x = _dates([p.timestamp for p in shown])
        ltv = [float(deal.ltv(p)) * 100 for p in shown]
        ax.step(x, ltv, where="post", color=color, linewidth=2, label=deal.label)
        if len(x) == 1:  # one point (a node without past state): a step draws nothing, a marker does
            ax.plot(x, ltv, "o", color=color)
        for e in deal.events:
            if e.name not in ("defaulted", "liquidated"):
                continue
            before = [p for p in deal.history if p.block <= e.block and p.status != "liquidated"]
            if not before:  # no state read before it (a node without past state)
                continue
            y = float(deal.ltv(before[-1])) * 100
            ex = _dates([e.timestamp])[0]
            ax.plot(
                [ex], [y], marker="D" if e.name == "defaulted" else "v", color=color, markersize=9, linestyle="none"
            )
            ax.annotate(e.name, (ex, y), xytext=(6, 4), textcoords="offset points", fontsize=8)
    cap = data.max_advance_bps / 100
    ax.axhline(cap, color="#999999", linestyle="--", linewidth=1)
    ax.annotate(
        f"the facility's cap on an advance: {cap:g}% of appraised value",
        (0.0, cap),
        xycoords=("axes fraction", "data"),
        xytext=(4, 3),
        textcoords="offset points",
        fontsize=8,
        color="#666666",
    )
    ax.set_title("Loan to value of each deal: principal outstanding / appraised value")
    ax.set_ylabel("LTV (%)")
    ax.set_ylim(0, 100)
    if data.deals:
        ax.legend(loc="lower left", fontsize=8)
    _date_axis(ax, _dates([p.timestamp for d in data.deals for p in d.history] or [data.timestamp]))
    fig.savefig(path)


def _plot_payments(data: ReportData, path: Path) -> None:
    n = max(1, len(data.deals))
    fig = _figure(10, 1.0 + 2.3 * n)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    width = 6.0  # days
    for ax, deal in zip(axes, data.deals, strict=False):
        x = _dates([p.timestamp for p in deal.payments])
        bottom = [0.0] * len(x)
        for part in ("fees", "interest", "principal"):
            values = [float(usdc(getattr(p, part))) for p in deal.payments]
            ax.bar(x, values, width=width, bottom=bottom, color=_COLORS[part], label=part)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        excess = [float(usdc(p.excess)) for p in deal.payments]
        if any(excess):
            ax.bar(
                x,
                excess,
                width=width,
                bottom=bottom,
                color="white",
                edgecolor=_COLORS["excess"],
                hatch="//",
                label="excess (not taken)",
            )
        if deal.liquidation is not None:
            liq = deal.liquidation
            lx = _dates([liq.timestamp])
            ax.bar(
                lx,
                [float(usdc(liq.principal_recovered))],
                width=width,
                color=_COLORS["recovered"],
                label="recovered in liquidation",
            )
            ax.bar(lx, [-float(usdc(liq.loss))], width=width, color=_COLORS["loss"], label="loss")
            ax.axhline(0, color="#444444", linewidth=0.8)
        for e in deal.events:
            if e.name in ("opened", "impaired", "defaulted"):
                ex = _dates([e.timestamp])[0]
                ax.axvline(ex, color="#666666", linestyle=":", linewidth=1)
                ax.annotate(
                    e.name,
                    (ex, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, -3),
                    textcoords="offset points",
                    va="top",
                    fontsize=8,
                )
        paid = sum(p.paid for p in deal.payments)
        ax.set_title(f"{deal.label}: {len(deal.payments)} payments, {_u(paid)} ({deal.status})", fontsize=10)
        _money_axis(ax, "USDC")
        if deal.payments or deal.liquidation:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.suptitle("Payment record: each repayment split by the waterfall", fontweight="bold", x=0.02, ha="left")
    seen = [t for d in data.deals for t in (*(p.timestamp for p in d.history), *(e.timestamp for e in d.events))]
    _date_axis(axes[-1], _dates(seen or [data.timestamp]))
    fig.savefig(path)


def _plot_waterfall(data: ReportData, path: Path) -> None:
    w = data.waterfall
    fig = _figure(10, 4.8)
    ax = fig.subplots()
    parts: list[tuple[Literal["fees", "interest", "principal", "excess"], str]] = [
        ("fees", "fees\nto the treasury"),
        ("interest", "interest\nto sAID holders"),
        ("principal", "principal\nback to the AID reserve"),
        ("excess", "excess\nleft with the payer"),
    ]
    total = sum(w.total(p) for p, _ in parts)
    labels = ["paid in\n(offered)"] + [label for _, label in parts]
    ax.bar([0], [float(usdc(total))], color="#555555", width=0.6)
    ax.annotate(
        _fmt(usdc(total)), (0, float(usdc(total))), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9
    )
    level = total
    for i, (part, _) in enumerate(parts, start=1):
        value = w.total(part)
        level -= value
        ax.bar([i], [float(usdc(value))], bottom=[float(usdc(level))], color=_COLORS[part], width=0.6)
        ax.annotate(
            _fmt(usdc(value)),
            (i, float(usdc(level + value))),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
        if i < len(parts):
            ax.plot([i - 0.3, i + 1.3], [float(usdc(level))] * 2, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("step of the waterfall (each bar in USDC)")
    ax.grid(axis="x", visible=False)
    _money_axis(ax, "USDC")
    ax.set_ylim(0, float(usdc(total)) * 1.15 + 1)
    count = sum(r.payments for r in w.rows)
    ax.set_title(
        f"Waterfall of the last {w.days} days ({_day(w.start)} to {_day(w.end)}): {count} repayments, "
        f"{_fmt(usdc(total))} USDC"
    )
    fig.savefig(path)


def _plot_stress(data: ReportData, path: Path) -> None:
    fig = _figure(10, 5.2)
    left, right = fig.subplots(1, 2)
    stress = data.stress
    if stress is None:
        for ax in (left, right):
            ax.text(0.5, 0.5, "no open deals to stress", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        fig.savefig(path)
        return
    from matplotlib.ticker import FuncFormatter

    results = stress.results
    # side-by-side bars, one group per correlation: no series drawn over another
    kinds: list[tuple[str, Callable[[MonteCarloResult], float], str]] = [
        ("expected loss", lambda r: r.expected_loss_usd, "#4C78A8"),
        ("loss per default", lambda r: r.mean_loss_given_default_usd or 0.0, "#F58518"),
        (
            "99th percentile" if results[0].percentiles_note is None else "worst simulated",
            lambda r: r.loss_percentiles_usd.get(99.0, 0.0) if r.percentiles_note is None else r.max_loss_usd,
            "#E45756",
        ),
    ]
    width = 0.8 / len(kinds)
    xs = list(range(len(results)))
    for k, (label, value, color) in enumerate(kinds):
        left.bar([x + (k - 1) * width for x in xs], [value(r) for r in results], width, color=color, label=label)
    left.set_xticks(xs, [f"correlation {r.correlation:g}" for r in results])
    left.set_xlabel("asset correlation of the one-factor copula")
    left.set_title(f"Loss over {stress.assumptions.horizon_years:g} year(s)", fontsize=11)
    _money_axis(left, "USDC")
    left.legend(loc="upper left", fontsize=8)
    returns = [(r.mean_first_loss_return or 0.0) * 100 for r in results]
    right.bar(xs, returns, 0.5, color=_COLORS["said"])
    for x, r, y in zip(xs, results, returns, strict=True):
        exhausted = r.probability_first_loss_exhausted or 0.0
        right.annotate(
            f"sAID wiped out in {exhausted:.2%}",
            (x, y),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    right.set_xticks(xs, [f"correlation {r.correlation:g}" for r in results])
    right.set_xlabel("asset correlation of the one-factor copula")
    right.set_ylabel("mean return a year (%)")
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    right.set_title(
        "sAID as first-loss capital: its mean return\n(wiped out: at most 0.1% of years allowed)", fontsize=11
    )
    a = stress.assumptions
    names = ", ".join(loan.name for loan in stress.loans)
    right.set_ylim(min(0.0, *returns) * 1.3, max(0.0, *returns) * 1.3 + 0.5)
    fig.suptitle(
        f"Stress test: {a.paths:,} simulated years of the open deals ({names})\n"
        f"each defaults with probability {_pct(a.default_probability, 0)} a year "
        f"({_pct(a.impaired_default_probability, 0)} if impaired);\nits GPUs sell {_pct(a.recovery_haircut, 0)} "
        "below appraisal, marked along the market's rents",
        fontweight="bold",
        fontsize=11,
        x=0.02,
        ha="left",
    )
    fig.savefig(path)


# ---- the page ----


@dataclass(frozen=True)
class _Section:
    file: str
    title: str
    summary: list[str]
    draw: Callable[[ReportData, Path], None]
    alt: str


def _low_exit(nav: Sequence[NavPoint]) -> str:
    zero = [p for p in nav if p.instant_exit_value == 0 and p.aid_supply > 0]
    if not zero:
        return ""
    peak = max(p.queued_stable for p in nav)
    return (
        f" The instant exit value was 0 from {_day(zero[0].timestamp)} to {_day(zero[-1].timestamp)}, while "
        f"redemptions waited in the queue (at most {_u(peak)} owed): then a plain redemption reverts, "
        "nobody jumps the queue."
    )


def _deal_line(deal: DealReport) -> str:
    first, last = deal.history[0], deal.history[-1]
    before = [p for p in deal.history if p.principal_outstanding > 0]
    peak = before[-1] if before else last
    text = f"{deal.label.capitalize()}: LTV {_pct(deal.ltv(first))} at opening, {_pct(deal.ltv(peak))} "
    text += "before it was liquidated" if deal.status == "liquidated" else f"now ({deal.status})"
    return text + "."


def _sections(data: ReportData) -> list[_Section]:
    last = data.latest
    open_deals = [d for d in data.deals if d.status in ("active", "impaired")]
    holds = all(data.backing_holds(p) for p in data.nav)
    nav = [
        f"At block {data.block} ({_day(data.timestamp)}), {_fmt(aid(last.aid_supply))} AID are backed by "
        f"{_u(last.reserve)} in the reserve and {_u(last.principal_deployed)} lent out in {len(open_deals)} open "
        f"deals; the uncovered loss is {_u(last.uncovered_loss)}.",
        f"The backing equation (supply = reserve + principal deployed + uncovered loss) "
        f"{'held at every one' if holds else 'FAILED at some'} of the {len(data.nav)} blocks read. "
        f"The sAID vault holds {_fmt(aid(last.said_total_assets))} AID for its stakers"
        + (f", {_fmt(aid(last.said_unvested))} more still vesting." if last.said_unvested else "."),
    ]
    for loss in data.losses:
        nav.append(
            f"On {_day(loss.timestamp)} a loss of {_u(loss.stable_loss)} was realized: {_u(loss.absorbed_by_vault)} "
            f"absorbed by sAID (its AID burned), {_u(loss.uncovered)} left uncovered."
        )
    cover = last.liquid_cover(data.scale)
    outstanding = last.aid_supply - last.queued_stable * data.scale
    fv = data.fair_value
    deposit_exit = [
        f"Book NAV (the share price) is {aid(last.share_price):.6f} USDC a share; at fair value it is "
        f"{aid(fv.fair_value_per_share):.6f}: the vault's {_fmt(aid(fv.book_assets))} AID, plus "
        f"{_fmt(aid(fv.unvested))} still vesting and {_fmt(aid(fv.accrued_interest))} of interest accrued on "
        f"performing deals, less an expected-loss reserve of {_fmt(aid(fv.expected_loss_reserve))} beyond the "
        "impairments already taken.",
        f"A new deposit pays {aid(last.deposit_price):.6f} USDC for one sAID; a holder leaving now gets "
        f"{aid(last.instant_exit_value):.6f} USDC a share at once. The free reserve, "
        f"{_u(max(0, last.reserve - last.queued_stable))}, could pay {_pct(cover)} of the {_fmt(aid(outstanding))} "
        "AID outstanding; the rest comes back as the deals repay.",
        "Instant exit value = share price × min(1, max(0, reserve − queued) / (AID supply − queued)): a liquidity "
        "measure, not a NAV: what every holder could take out at once if all left together, without waiting in "
        "the redemption queue." + _low_exit(data.nav),
    ]
    ltv = [_deal_line(d) for d in data.deals] or ["No deals yet."]
    payments = []
    for d in data.deals:
        paid = sum(p.paid for p in d.payments)
        text = (
            f"Deal {d.deal_id}: {len(d.payments)} payments, {_u(paid)} in all: {_u(sum(p.fees for p in d.payments))}"
            f" fees, {_u(sum(p.interest for p in d.payments))} interest, "
            f"{_u(sum(p.principal for p in d.payments))} principal."
        )
        if d.liquidation is not None:
            liq = d.liquidation
            text += (
                f" Liquidated on {_day(liq.timestamp)}: the sale brought {_u(liq.proceeds)} and the cash reserve "
                f"{_u(liq.cash_reserve)}; {_u(liq.principal_recovered)} of principal came back and {_u(liq.loss)} "
                "was lost."
            )
        payments.append(text)
    w = data.waterfall
    fees, interest, principal, excess = (w.total(k) for k in ("fees", "interest", "principal", "excess"))
    waterfall = [
        f"In the {w.days} days to {_day(w.end)}, {sum(r.payments for r in w.rows)} repayments into "
        f"{len(w.rows)} deals brought {_u(fees + interest + principal)}: {_u(fees)} of fees to the treasury, "
        f"{_u(interest)} of interest to sAID holders (it vests over {data.vesting_period // 3600} hours) and "
        f"{_u(principal)} of principal back into the AID reserve. {_u(excess)} offered beyond what was owed "
        "stayed with the payers."
    ]
    stress: list[str]
    if data.stress is None:
        stress = ["No deal is open at this block: there is nothing to stress."]
    else:
        a = data.stress.assumptions
        stress = [
            f"{a.paths:,} simulated years (seed {a.seed}) of the {len(data.stress.loans)} open deals, "
            f"{_fmt(Decimal(str(sum(loan.exposure_usd for loan in data.stress.loans))))} USDC outstanding, "
            "balances amortising. Each defaults within the year with probability "
            f"{_pct(a.default_probability, 0)} ({_pct(a.impaired_default_probability, 0)} if impaired), at a "
            "uniform time, correlated through a one-factor Gaussian copula; the same market factor drives the "
            f"GPU rent index (volatility {_pct(a.rent_volatility, 0)} a year), so a defaulted deal's collateral, "
            f"declining {_pct(a.collateral_decline_per_year, 0)} a year from its on-chain appraisal, is worth "
            f"less when rents fell, and sells {_pct(a.recovery_haircut, 0)} below that; its cash reserve is kept. "
            "sAID's assets are the first-loss capital; no Treasury-bill income is counted (none exists on chain).",
        ]
        for r in data.stress.results:
            text = (
                f"Correlation {r.correlation:g}: expected loss {_fmt(Decimal(str(r.expected_loss_usd)))} USDC, a "
                f"loss in {_pct(r.probability_of_loss)} of years; the book yields "
                f"{r.mean_portfolio_yield * 100:.2f}% on average"
            )
            if r.mean_first_loss_return is not None:
                text += (
                    f", sAID as first-loss capital returns {r.mean_first_loss_return * 100:.2f}% on average and is "
                    f"wiped out in {_pct(r.probability_first_loss_exhausted or 0.0, 2)} of years (the underwriting "
                    "allows 0.1%: Basel IRB's 99.9% confidence level)"
                )
            if r.percentiles_note is None:
                text += f"; 99th percentile loss {_fmt(Decimal(str(r.loss_percentiles_usd[99.0])))} USDC."
            else:
                text += "."
            stress.append(text)
        if data.stress.results and data.stress.results[0].percentiles_note is not None:
            stress.append(f"No percentiles: {data.stress.results[0].percentiles_note}.")
    return [
        _Section("nav.png", "NAV over time", nav, _plot_nav, "AID supply against its backing, and sAID's assets"),
        _Section(
            "deposit-exit.png",
            "Book NAV, fair value and the instant exit value",
            deposit_exit,
            _plot_deposit_exit,
            "sAID's book NAV and fair value per share, what an exit gets now, and the redemption queue",
        ),
        _Section("ltv.png", "Loan to value of each deal", ltv, _plot_ltv, "each deal's loan to value over time"),
        _Section(
            "payments.png",
            "Payment record of each deal",
            payments,
            _plot_payments,
            "each deal's repayments split into fees, interest and principal",
        ),
        _Section(
            "waterfall.png",
            "The waterfall of the last period",
            waterfall,
            _plot_waterfall,
            "where the last period's repayments went",
        ),
        _Section(
            "stress.png",
            "Stress test",
            stress,
            _plot_stress,
            "the year's loss and sAID's return as first-loss capital, by correlation",
        ),
    ]


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; background: #fafafa;
       margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0; }
.card { flex: 1 1 160px; border: 1px solid #e3e3e3; border-radius: 6px; padding: 10px 14px; background: #fcfcfc; }
.card .v { font-size: 1.35em; font-weight: 600; }
.card .k { color: #666; font-size: 0.85em; }
code { font-size: 0.9em; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


def _cards(data: ReportData) -> str:
    last = data.latest
    cards = [
        ("AID supply", f"{_fmt(aid(last.aid_supply))}"),
        ("backing (USDC)", _fmt(usdc(last.backing))),
        ("liquid reserve (USDC)", _fmt(usdc(last.reserve))),
        ("sAID book NAV (USDC per share)", f"{aid(last.share_price):.6f}"),
        ("sAID fair value (USDC per share)", f"{aid(data.fair_value.fair_value_per_share):.6f}"),
        ("instant exit value (USDC per sAID)", f"{aid(last.instant_exit_value):.6f}"),
        ("realized losses (USDC)", _fmt(usdc(sum(loss.stable_loss for loss in data.losses)))),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{v}</div><div class="k">{html.escape(k)}</div></div>' for k, v in cards
        )
        + "</div>"
    )


def _deals_table(data: ReportData) -> str:
    if not data.deals:
        return ""
    rows = []
    for d in data.deals:
        last = d.history[-1]
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(c)}</td>"
                for c in (
                    f"deal {d.deal_id}",
                    d.structure.replace("_", " "),
                    f"{d.rate_bps / 100:g}%",
                    str(d.collateral),
                    _fmt(usdc(d.appraised_value)),
                    _fmt(usdc(d.advance)),
                    _fmt(usdc(last.principal_outstanding)),
                    "–" if d.status == "liquidated" else _pct(d.ltv(last)),
                    _fmt(usdc(last.interest_paid)),
                    d.status,
                )
            )
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "deal",
            "structure",
            "rate",
            "assets",
            "appraised (USDC)",
            "advance (USDC)",
            "outstanding (USDC)",
            "LTV",
            "interest paid (USDC)",
            "status",
        )
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _bps(value: int | None) -> str:
    return "–" if value is None else f"{value / 100:.2f}%"


def _irr(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _book_tables(data: ReportData) -> str:
    """The loan tape, delinquency, recoveries, concentration and reserve composition, as tables."""
    tape = _table(
        (
            "deal",
            "borrower",
            "collateral",
            "value (USDC)",
            "outstanding (USDC)",
            "LTV now",
            "leases",
            "DSCR",
            "status",
            "days past due",
            "IRR gross",
            "IRR net of fees",
        ),
        [
            (
                f"deal {r.deal_id}",
                r.borrower[:10] + "…",
                ", ".join(f"{n} {k}" for k, n in r.collateral_units.items()) or str(r.collateral_assets),
                _fmt(usdc(r.current_value)),
                _fmt(usdc(r.principal_outstanding)),
                _bps(r.ltv_bps),
                "; ".join(
                    f"{x.counterparty_hash[:10]}… {_fmt(usdc(x.monthly_amount))}/mo to {_day(x.end)}" for x in r.leases
                )
                or "–",
                r.dscr or "–",
                r.status,
                str(r.days_past_due),
                _irr(r.gross_irr),
                _irr(r.net_irr),
            )
            for r in data.loan_tape
        ],
    )
    delinquency = _table(
        ("bucket", "deals", "principal (USDC)"),
        [(b.bucket, str(b.deals), _fmt(usdc(b.principal))) for b in data.delinquency.buckets],
    )
    recoveries = _table(
        (
            "deal",
            "owed at default (USDC)",
            "sale (USDC)",
            "cash reserve (USDC)",
            "recovered (USDC)",
            "loss (USDC)",
            "recovery",
        ),
        [
            (
                f"deal {r.deal_id}",
                _fmt(usdc(r.principal_at_default)),
                _fmt(usdc(r.proceeds)),
                _fmt(usdc(r.cash_reserve)),
                _fmt(usdc(r.principal_recovered)),
                _fmt(usdc(r.loss)),
                _bps(r.recovery_rate_bps),
            )
            for r in data.recoveries
        ],
    )
    c = data.concentration
    concentration = _table(
        ("borrower", "deals", "outstanding (USDC)", "share"),
        [(r.name, str(r.deals), _fmt(usdc(r.amount)), _bps(r.share_bps)) for r in c.by_borrower],
    ) + _table(
        ("lease counterparty (hash)", "leases", "contracted a month (USDC)", "share"),
        [(r.name[:18] + "…", str(r.deals), _fmt(usdc(r.amount)), _bps(r.share_bps)) for r in c.by_counterparty],
    )

    def amount(h: Any) -> str:
        return _fmt(aid(h.amount)) if h.token == "AID" else _fmt(usdc(h.amount))

    reserve = _table(
        ("token", "AID's liquid reserve"), [(k, _fmt(usdc(v))) for k, v in data.reserve_composition.by_token.items()]
    ) + _table(
        ("place", "token", "amount", "backs AID"),
        [(h.place, h.token, amount(h), "yes" if h.backs_aid else "no") for h in data.reserve_composition.by_place],
    )
    return (
        f'<section id="loan-tape"><h2>Loan tape</h2>{tape}'
        "<p>Value: the appraisal recorded on chain at opening. DSCR: the leases in force a month over 30 days of "
        "debt service (level principal, interest and fees). IRR: the lender's yearly return on the advance, open "
        "deals taken at book; net of fees is what reaches sAID.</p></section>"
        f'<section id="delinquency"><h2>Delinquency</h2>{delinquency}</section>'
        f'<section id="recoveries"><h2>Realized losses and recoveries</h2>{recoveries}</section>'
        f'<section id="concentration"><h2>Concentration</h2><p>Top borrower {_bps(c.top_borrower_bps)} of the '
        f"open book; Herfindahl index {c.hhi_bps:,} (10,000: one borrower).</p>{concentration}</section>"
        f'<section id="reserve-composition"><h2>Reserve composition</h2>{reserve}</section>'
    )


def _page(data: ReportData, sections: Sequence[_Section]) -> str:
    contracts = "".join(
        f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>" for k, v in data.contracts.items()
    )
    history_note = (
        '<p class="meta"><strong>This node keeps no past state</strong> (it is not an archive node): the history '
        "below is read from the event logs, and the contracts' views only at the report's block.</p>"
        if data.history == "events"
        else ""
    )
    body = []
    for s in sections:
        text = "".join(f"<p>{html.escape(t)}</p>" for t in s.summary)
        extra = _deals_table(data) if s.file == "ltv.png" else ""
        body.append(
            f'<section id="{s.file.removesuffix(".png")}"><h2>{html.escape(s.title)}</h2>{text}{extra}'
            f'<img src="{s.file}" alt="{html.escape(s.alt)}"></section>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gaib NAV report: chain {data.chain_id}, block {data.block}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>NAV report</h1>
<p class="meta">chain {data.chain_id}, blocks {data.from_block} to {data.block}, as of
{html.escape(data.time.strftime("%d %b %Y %H:%M UTC"))}. Every figure is read from the chain: the contracts'
event logs and their views at the block of each point. The same figures are in
<a href="report.json">report.json</a>.</p>
{history_note}
{_cards(data)}
{"".join(body)}
{_book_tables(data)}
<h2>Contracts</h2>
<table>{contracts}</table>
<footer>{html.escape(data.generator)}. Amounts in USDC (6 decimals) and AID (18 decimals); in report.json
they are integers of base units, written as strings.</footer>
</main>
</body>
</html>
"""


def render(data: ReportData, out_dir: Path | str) -> list[Path]:
    """Write ``index.html``, the plots (:data:`PLOTS`) and ``report.json`` into ``out_dir`` (created if
    missing); returns the paths written. Needs matplotlib (``pip install 'gaib-sdk[report]'``)."""
    matplotlib = require_matplotlib()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = _sections(data)
    written = []
    with matplotlib.rc_context(_STYLE):
        for s in sections:
            s.draw(data, out / s.file)
            written.append(out / s.file)
    (out / "report.json").write_text(data.model_dump_json(indent=2) + "\n")
    (out / "index.html").write_text(_page(data, sections))
    return [*written, out / "report.json", out / "index.html"]
