"""Reusable Dash/Plotly builders: pure functions of data, no I/O."""
