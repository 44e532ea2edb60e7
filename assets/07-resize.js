// Backtest result charts are drawn with Plotly's responsive mode off (it measured every chart's
// container again and again while a 10,000-trade page was drawing: ~0.4 s). This redraws them
// at their container's new width once a window resize has settled.
(function () {
  let timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (!window.Plotly) return;
      document.querySelectorAll(".bt-page .js-plotly-plot").forEach(function (graph) {
        window.Plotly.Plots.resize(graph);
      });
    }, 150);
  });
})();
