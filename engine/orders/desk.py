"""The order desk: the paper broker as the engine process runs it.

The engine hands it commands (``orders.place``, ``orders.cancel``, ``orders.kill_switch``),
every closed bar it broadcasts (:meth:`OrderDesk.on_bar`) and, once per loop,
:meth:`OrderDesk.on_tick` with a ``quote`` function that gives the latest (forming) bar of a
symbol's order feed (opening the feed when needed). Orders fill against ``ORDER_TIMEFRAME``
bars of their symbol only, so every order sees one price stream. Every change goes to the
database at once (``OrderStore``); a restarted engine picks the working orders up from there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.data.bars import Bar
from engine.errors import CommandError, ConfigError
from engine.orders.account import ZERO, apply_fill, fee_of
from engine.orders.exchange import ExchangeAnswer, ExchangeBroker
from engine.orders.fills import PriceEvent, fill_price
from engine.orders.model import OrderRequest, parse_request, parse_symbol
from engine.orders.risk import Exposure, violation
from engine.orders.views import daily_pnl
from engine.platform.settings import Settings
from engine.storage.order_store import DuplicateOrder, FillRecord, OrderRecord, OrderStore

ORDER_TIMEFRAME = "1m"
TICK_EVERY_S = 0.1
MARKS_EVERY_S = 1.0
LIVE_POLL_S = 2.0
Quote = Callable[[str], Bar | None]
"""symbol -> the latest bar of its order feed (forming if the feed has one), or None."""


class OrderDesk:
    """Working orders in memory, everything else in the database."""

    def __init__(
        self,
        store: OrderStore,
        settings: Settings,
        *,
        quote: Quote,
        pause_runners: Callable[[], Any] = lambda: [],
        clock: Callable[[], float] = time.monotonic,
        live: ExchangeBroker | None = None,
    ) -> None:
        self.store = store
        self.quote = quote
        self.pause_runners = pause_runners
        self.clock = clock
        self.balance = Decimal(repr(settings.paper_balance))
        self.commission = Decimal(repr(settings.paper_commission))
        self.slippage = Decimal(repr(settings.paper_slippage_bps))
        stored = store.open_orders()
        self.working: dict[str, OrderRecord] = {o.order_id: o for o in stored if o.mode == "paper"}
        #: Live orders the exchange holds (polled every LIVE_POLL_S; never filled by the feed).
        self.live_working = {o.order_id: o for o in stored if o.mode == "live"}
        self.live, self.live_problem = live, None
        if live is None and settings.live_trading:
            try:
                self.live = ExchangeBroker.from_settings(settings)
            except ConfigError as exc:
                self.live_problem = str(exc)
        self._polled = 0.0
        self.held = {p.symbol for p in store.positions()}
        self.marks: dict[str, Decimal] = {}
        self._ticked = 0.0
        self._marked = 0.0
        if self.working and store.limits().kill_switch:  # engaged while the engine was down
            for order_id in [*self.working, *self.live_working]:
                self._cancel(order_id, "kill switch")

    def watched(self) -> set[str]:
        """Symbols with working orders or open positions (their feeds stay open)."""
        return {o.symbol for o in self.working.values()} | self.held

    # -- commands -------------------------------------------------------------------------
    def handle(self, name: str, args: dict[str, Any]) -> Any:
        """Run one ``orders.*`` command (a database error is a refusal, not a crash)."""
        try:
            return self._handle(name, args)
        except sa.exc.SQLAlchemyError as exc:
            raise CommandError(
                "conflict", f"the orders database did not answer ({exc}); check and retry"
            ) from None

    def _handle(self, name: str, args: dict[str, Any]) -> Any:
        if name == "orders.place":
            return self.place(args)
        if name == "orders.cancel":
            return self.cancel(args)
        if name == "orders.quote":
            return self.last_price(str(args.get("symbol") or ""))
        if name == "orders.live_account":
            return self.live_account()
        if name == "orders.kill_switch":
            if args.get("engage") is True:
                return self.engage(str(args.get("reason") or "engaged by the user"))
            if args.get("engage") is False:
                return self.release()
            raise CommandError("validation", "body.engage should be true or false")
        raise CommandError("validation", f"unknown command '{name}'")

    def place(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check, store and open an order (or store it rejected, with the reason)."""
        request = parse_request(args, live_enabled=self.live is not None)
        existing = self.store.by_client_id(request.client_order_id)
        if existing is not None:
            return self._retry(request, existing)
        bar = self.quote(request.symbol)
        if bar is None:
            raise CommandError(
                "validation",
                f"no price for {request.symbol} yet: its feed has not produced a bar; retry",
            )
        price = Decimal(repr(bar.close))
        self.marks[request.symbol] = price
        _check_stop_side(request, price)
        order = request.new_order(bar.timestamp)
        try:
            self.store.insert(order)
        except DuplicateOrder:
            return self._retry(request, self.store.by_client_id(request.client_order_id))
        reason = self._refusal(request, price)
        if reason is not None:
            return self.store.update(replace(order, status="rejected"), reason).to_dict()
        if order.mode == "live":
            return self._submit_live(order)
        opened = self.store.update(replace(order, status="open"), "accepted")
        self.working[opened.order_id] = opened
        return opened.to_dict()

    def live_account(self) -> dict[str, Any]:
        """The live exchange's balances (CommandError conflict when live trading is off)."""
        if self.live is None:
            off = "live trading is off: set TRADESIM_LIVE_TRADING=1 and the exchange keys"
            raise CommandError("conflict", self.live_problem or off)
        return {"exchange": self.live.exchange_id, "balances": self.live.balance()}

    def _submit_live(self, order: OrderRecord) -> dict[str, Any]:
        assert self.live is not None
        answer = self.live.submit(order)
        return self._apply_live(order, answer).to_dict()

    def _apply_live(self, order: OrderRecord, answer: ExchangeAnswer) -> OrderRecord:
        """Store what the exchange said about a live order (a fill as a fill row)."""
        exchange_id = answer.exchange_order_id or order.exchange_order_id
        if answer.status == "filled" and answer.average is not None:
            fill = FillRecord(
                order_id=order.order_id,
                time=datetime.now(UTC),
                symbol=order.symbol,
                side=order.side,
                price=answer.average,
                quantity=answer.filled or order.quantity,
                fee=answer.fee,
                realized_pnl=ZERO,
            )
            done = self.store.fill(replace(order, exchange_order_id=exchange_id), fill)
            self.live_working.pop(order.order_id, None)
            return done
        status = answer.status
        same = (order.status, order.exchange_order_id, order.reason)
        if same == (status, exchange_id, answer.reason):
            return order
        changed = self.store.update(
            replace(order, status=status, exchange_order_id=exchange_id), answer.reason
        )
        if status in ("open", "pending"):
            self.live_working[order.order_id] = changed
        else:
            self.live_working.pop(order.order_id, None)
        return changed

    def last_price(self, symbol: str) -> dict[str, Any]:
        """``{symbol, price, time}`` of the symbol's order feed (opened now if needed)."""
        request_symbol = parse_symbol(symbol)
        bar = self.quote(request_symbol)
        if bar is None:
            return {"symbol": request_symbol, "price": None, "time": None}
        return {"symbol": request_symbol, "price": bar.close, "time": bar.timestamp}

    def _retry(self, request: OrderRequest, existing: OrderRecord | None) -> dict[str, Any]:
        assert existing is not None
        if not request.same_order(existing):
            raise CommandError(
                "conflict",
                f"client_order_id '{request.client_order_id}' was used for a different order "
                f"({existing.order_id}); use a new client_order_id",
            )
        return {**existing.to_dict(), "duplicate": True}

    def _refusal(self, request: OrderRequest, price: Decimal) -> str | None:
        limits = self.store.limits()
        if limits.kill_switch:
            return "kill switch engaged: new orders are refused until it is released"
        reference = request.limit_price or request.stop_price or price
        notional = request.quantity * reference
        fee = fee_of(request.quantity, reference, self.commission)
        account = self.store.account(self.balance)
        position = self.store.position(request.symbol)
        signed = request.quantity if request.side == "buy" else -request.quantity
        after = position.quantity + signed
        if request.mode == "paper" and request.side == "buy" and notional + fee > account.cash:
            return (
                f"insufficient paper balance: the order needs {notional + fee:,.2f} "
                f"(notional + fee) and the cash is {account.cash:,.2f}"
            )
        exposure = Exposure(
            notional=notional,
            position_after_notional=abs(after) * reference,
            grows_position=abs(after) > abs(position.quantity),
            open_orders=len(self.working) + len(self.live_working),
            daily_pnl=daily_pnl(self.store, self.store.positions(), self.marks),
        )
        return violation(limits, exposure)

    def cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cancel a working order by ``order_id`` or ``client_order_id``."""
        order_id = args.get("order_id")
        client_id = args.get("client_order_id")
        order = (
            self.store.get(str(order_id))
            if order_id
            else self.store.by_client_id(str(client_id))
            if client_id
            else None
        )
        if order_id is None and client_id is None:
            raise CommandError("validation", "body.order_id or body.client_order_id is required")
        if order is None:
            raise CommandError("not_found", f"no order '{order_id or client_id}'")
        if order.order_id in self.live_working:
            return self._cancel_live(order.order_id)
        if order.order_id not in self.working:
            raise CommandError(
                "conflict",
                f"order {order.order_id} is {order.status}; only open orders can be cancelled",
            )
        return self._cancel(order.order_id, str(args.get("reason") or "cancelled by the user"))

    def _cancel_live(self, order_id: str) -> dict[str, Any]:
        assert self.live is not None
        order = self.live_working[order_id]
        answer = self.live.cancel(order)
        if answer.status != "cancelled":
            raise CommandError(
                "conflict", f"{self.live.exchange_id} did not cancel it: {answer.reason}"
            )
        return self._apply_live(order, answer).to_dict()

    def _cancel(self, order_id: str, reason: str) -> dict[str, Any]:
        if order_id in self.live_working and self.live is not None:
            return self._cancel_live(order_id)
        cancelled = self.store.update(replace(self.working[order_id], status="cancelled"), reason)
        del self.working[order_id]
        return cancelled.to_dict()

    def engage(self, reason: str) -> dict[str, Any]:
        """Kill switch: refuse new orders, cancel working ones, flatten positions, pause runners."""
        limits = self.store.limits()
        self.store.save_limits(
            replace(
                limits,
                kill_switch=True,
                kill_switch_at=datetime.now(UTC),
                kill_switch_reason=reason,
            )
        )
        cancelled, not_cancelled = [], []
        for order_id in [*self.working, *self.live_working]:
            try:
                cancelled.append(self._cancel(order_id, "kill switch")["order_id"])
            except CommandError as exc:  # the exchange refused: say so, carry on
                not_cancelled.append({"order_id": order_id, "reason": exc.message})
        flattened, left = [], []
        for position in self.store.positions():
            bar = self.quote(position.symbol)
            if bar is None:
                left.append(position.symbol)
                continue
            flattened.append(self._flatten(position.symbol, position.quantity, bar))
        paused = self.pause_runners()
        return {
            "kill_switch": True,
            "reason": reason,
            "cancelled": cancelled,
            "not_cancelled": not_cancelled,
            "flattened": flattened,
            "not_flattened": left,
            "paused": paused,
        }

    def _flatten(self, symbol: str, quantity: Decimal, bar: Bar) -> dict[str, Any]:
        request = OrderRequest(
            symbol=symbol,
            side="sell" if quantity > 0 else "buy",
            order_type="market",
            quantity=abs(quantity),
            limit_price=None,
            stop_price=None,
            time_in_force="IOC",
            client_order_id=f"kill-{symbol}-{int(time.time() * 1000)}",
            mode="paper",
            signal_id=None,
            source="kill_switch",
        )
        order = request.new_order(bar.timestamp)
        self.store.insert(order)
        order = self.store.update(replace(order, status="open"), "kill switch: flatten")
        price = fill_price("market", order.side, PriceEvent.tick(bar), slippage_bps=self.slippage)
        assert price is not None
        return self._fill(order, price, bar.timestamp).to_dict()

    def release(self) -> dict[str, Any]:
        """Release the kill switch: orders are accepted again (runners stay paused)."""
        limits = self.store.limits()
        self.store.save_limits(replace(limits, kill_switch=False, kill_switch_reason=None))
        return {"kill_switch": False}

    # -- prices ---------------------------------------------------------------------------
    def on_tick(self) -> None:
        """Evaluate working orders against each watched symbol's latest price (at most every
        TICK_EVERY_S), poll live orders and store the positions' marks (every MARKS_EVERY_S).
        A database error is reported and retried on the next tick, never raised into the
        engine's loop (working orders change only once their change is stored)."""
        try:
            self._tick()
        except sa.exc.SQLAlchemyError as exc:
            print(f"orders: database error, retrying: {exc}", file=sys.stderr, flush=True)

    def _tick(self) -> None:
        now = self.clock()
        if now - self._ticked < TICK_EVERY_S:
            return
        self._ticked = now
        for symbol in sorted(self.watched()):
            bar = self.quote(symbol)
            if bar is not None:
                self.marks[symbol] = Decimal(repr(bar.close))
                self._evaluate(symbol, PriceEvent.tick(bar))
        if self.live is not None and self.live_working and now - self._polled >= LIVE_POLL_S:
            self._polled = now
            for order in list(self.live_working.values()):
                answer = self.live.refresh(order)
                if answer.exchange_order_id is not None:  # an error answer changes nothing
                    self._apply_live(order, answer)
        if now - self._marked >= MARKS_EVERY_S:
            self._marked = now
            self.store.set_marks({s: p for s, p in self.marks.items() if s in self.held})

    def on_bar(self, bar: Bar) -> None:
        """A closed bar: orders placed before it opened fill on its whole range."""
        if bar.timeframe != ORDER_TIMEFRAME or bar.symbol not in self.watched():
            return
        self.marks[bar.symbol] = Decimal(repr(bar.close))
        try:
            self._evaluate(bar.symbol, PriceEvent.of_bar(bar))
        except sa.exc.SQLAlchemyError as exc:
            print(f"orders: database error on a bar, retrying: {exc}", file=sys.stderr, flush=True)

    def _evaluate(self, symbol: str, event: PriceEvent) -> None:
        """Fill what ``event`` fills; IOC orders not filled by their first event are cancelled.
        A closed bar only fills orders placed before it opened (a tick fills any)."""
        for order in [o for o in self.working.values() if o.symbol == symbol]:
            armed = order.armed_after_ms
            if not event.is_tick and armed is not None and armed >= event.time_ms:
                continue
            price = fill_price(
                order.order_type,
                order.side,
                event,
                limit=order.limit_price,
                stop=order.stop_price,
                slippage_bps=self.slippage,
            )
            if price is not None:
                self._fill(order, price, event.time_ms)
                self.working.pop(order.order_id)
            elif order.time_in_force == "IOC":
                self._cancel(order.order_id, "IOC: not filled by the first price after placing")

    def _fill(self, order: OrderRecord, price: Decimal, bar_ms: int) -> OrderRecord:
        fee = fee_of(order.quantity, price, self.commission)
        account = self.store.account(self.balance)
        position = self.store.position(order.symbol)
        account, position, realized = apply_fill(
            account, position, order.side, order.quantity, price, fee
        )
        fill = FillRecord(
            order_id=order.order_id,
            time=datetime.now(UTC),
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=order.quantity,
            fee=fee,
            realized_pnl=realized,
        )
        filled = self.store.fill(order, fill, account, position)
        if position.quantity == ZERO:
            self.held.discard(order.symbol)
        else:
            self.held.add(order.symbol)
        return filled


def _check_stop_side(request: OrderRequest, price: Decimal) -> None:
    stop = request.stop_price
    if request.order_type != "stop" or stop is None:
        return
    if request.side == "buy" and stop <= price:
        message = (
            f"body.stop_price {stop:f} is at or below the market price {price:f}: a buy stop "
            "triggers when the price rises to it, so it must be above the market"
        )
    elif request.side == "sell" and stop >= price:
        message = (
            f"body.stop_price {stop:f} is at or above the market price {price:f}: a sell stop "
            "triggers when the price falls to it, so it must be below the market"
        )
    else:
        return
    raise CommandError("validation", message, [{"field": "body.stop_price", "message": message}])
