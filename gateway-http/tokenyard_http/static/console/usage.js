// tokenyard console: the per-day usage chart (Chart.js, vendored), tokens as bars and cost as a line.
(function () {
  const canvas = document.getElementById("usage-chart");
  const source = document.getElementById("usage-series");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const series = JSON.parse(source.textContent);
  const chart = new Chart(canvas, {
    data: {
      labels: series.labels,
      datasets: [
        { type: "bar", label: "Tokens", data: series.tokens, yAxisID: "tokens", backgroundColor: "#4c8dd6" },
        { type: "line", label: "Cost (USD)", data: series.cost, yAxisID: "cost", borderColor: "#d4571c",
          backgroundColor: "#d4571c", tension: 0.2 },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: {
        tokens: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "tokens" } },
        cost: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                title: { display: true, text: "USD" } },
      },
    },
  });
  canvas.dataset.rendered = String(series.tokens.reduce((a, b) => a + b, 0));
  window.tokenyardUsageChart = chart;
})();
