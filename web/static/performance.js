// Performance charts (art. 26): drawn with chart.js when /vendor serves it; the table stays the record.
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("performance-data");
  var section = document.getElementById("performance-charts");
  if (!source || !section || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = { rate: "#166534", overdue: "#b91c1c", reply: "#1d4ed8" };

  function bar(id, key, options) {
    new window.Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: data.titles[key], data: data[key], backgroundColor: colours[key] }] },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
                               scales: { y: { beginAtZero: true } } }, options || {})
    });
  }

  section.hidden = false;
  bar("chart-rate", "rate", { scales: { y: { beginAtZero: true, max: 100 } } });
  bar("chart-overdue", "overdue", { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
  bar("chart-reply", "reply");
});
