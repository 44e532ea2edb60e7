"""Trading setups and the signals computed for them.

Owns: a setup is one symbol watched on several timeframes with indicators and strategies. This
package owns what a setup means (``spec``: tokens such as ``sma_20``, validation, chart URLs),
the signal calculation (``signals``: the strategies run through the backtest kernel over stored
candles, each entry/exit becoming a BUY/SELL row) and the lifecycle (``service``: creating,
pausing, resuming and deleting a setup together with the collection jobs and signal jobs it
started).

May import: ``data``, ``indicators``, ``strategy``, ``backtest``, ``storage``, ``errors``,
``platform.settings`` and ``platform.jobqueue`` (the job-queue port; never rq itself).
"""
