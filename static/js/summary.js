// The summary's charts, drawn by the vendored Chart.js from the page's json_script data.
// Amounts arrive in minor units (integers, as the server counts them) and are scaled here
// for drawing only. A click on a bar opens the audit events behind it, as the tables do.
(function () {
  "use strict";
  var source = document.getElementById("summary-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  // The console's own palette (console.css), one colour per kind.
  var COLOURS = { refund: "#2b59c3", credit_memo: "#1e7a3c", balance_credit: "#9a6700" };
  var scale = Math.pow(10, data.decimals);

  function formatted(major) {
    return major.toLocaleString(undefined, {
      minimumFractionDigits: data.decimals, maximumFractionDigits: data.decimals
    }) + " " + data.currency;
  }

  function dataset(series) {
    return {
      label: series.label,
      data: series.amounts.map(function (minor) { return minor / scale; }),
      backgroundColor: COLOURS[series.kind],
      counts: series.counts,
      links: series.links
    };
  }

  function tooltipLabel(context) {
    var count = context.dataset.counts[context.dataIndex];
    return context.dataset.label + ": " + formatted(context.parsed.y) + " (" + count + ")";
  }

  // Only the server's own relative links are followed.
  function linkAt(chart, elements) {
    if (!elements.length) { return null; }
    var link = chart.data.datasets[elements[0].datasetIndex].links[elements[0].index];
    return typeof link === "string" && link.charAt(0) === "/" ? link : null;
  }

  function draw(canvasId, chart) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !chart.series.length) { return; }
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: chart.series.map(dataset) },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { callback: formatted } }
        },
        plugins: { tooltip: { callbacks: { label: tooltipLabel } } },
        onHover: function (event, elements, instance) {
          canvas.style.cursor = linkAt(instance, elements) ? "pointer" : "default";
        },
        onClick: function (event, elements, instance) {
          var link = linkAt(instance, elements);
          if (link) { window.location.assign(link); }
        }
      }
    });
  }

  draw("chart-by-month", data.byMonth);
  draw("chart-by-reason", data.byReason);
})();
