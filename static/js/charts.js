// Render every Plotly figure on the page: <div class="chart" data-figure="ID"> + <script type="application/json" id="ID">.
// Runs on load and after each htmx swap, so partial updates redraw their charts.
(function () {
  const config = { displayModeBar: false, responsive: true };
  function render(root) {
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      const source = document.getElementById(el.dataset.figure);
      if (!source || !window.Plotly) return;
      const fig = JSON.parse(source.textContent);
      const layout = Object.assign({ margin: { l: 50, r: 20, t: 30, b: 40 }, font: { family: "system-ui, sans-serif", size: 12 },
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" }, fig.layout || {});
      Plotly.react(el, fig.data || [], layout, config);
      el.dataset.rendered = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { render(evt.target); });
  window.costlensRenderCharts = render;

  // The filter bar's URL carries only what is set: no empty fields, no default granularity, and the
  // custom dates only with a custom range. Shorter, shareable URLs; the server reads them the same.
  document.addEventListener("htmx:configRequest", function (evt) {
    const form = evt.detail.elt;
    if (evt.detail.verb !== "get" || !form.matches || !form.matches("form.filters")) return;
    const params = evt.detail.parameters;
    const custom = params["range"] === "custom";
    Object.keys(params).forEach(function (name) {
      const value = params[name];
      if (value === "" || (name === "granularity" && value === "auto") || (!custom && (name === "start" || name === "end"))) {
        delete params[name];
      }
    });
  });
})();
