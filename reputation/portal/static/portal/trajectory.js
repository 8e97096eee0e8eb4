// The trajectory chart: past trust with its uncertainty, the seven-year projection, the band and
// eligibility thresholds, and a mark on the time axis for each event and step.
//
// Its data is the `data-chart` attribute of #trajectory-data. While the assessment is pending,
// htmx swaps the assessment's part of the page in again every second (the chart's own element is
// preserved across the swaps); after each swap the chart is drawn again if its data changed, so
// the worker's new assessment shows without a reload. The chart's element says which assessment
// it drew (`data-drawn`: when that assessment was computed).
(function () {
  var plot = null;
  var drawn = null;

  function column(rows, index, offset, total) {
    var values = new Array(total).fill(null);
    rows.forEach(function (row, i) { values[offset + i] = row[index]; });
    return values;
  }

  function guides(data) {
    return function (u) {
      var ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 1;
      Object.keys(data.thresholds).forEach(function (band) {
        var y = u.valToPos(data.thresholds[band], "y", true);
        ctx.strokeStyle = "#9e9e9e";
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
      });
      var eligibility = u.valToPos(data.eligibility, "y", true);
      ctx.strokeStyle = "#1565c0";
      ctx.setLineDash([]);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, eligibility);
      ctx.lineTo(u.bbox.left + u.bbox.width, eligibility);
      ctx.stroke();
      data.marks.forEach(function (mark) {
        var x = u.valToPos(mark.at, "x", true);
        ctx.fillStyle = mark.kind === "event" ? "#c62828" : "#2e7d32";
        ctx.fillRect(x - 2, u.bbox.top + u.bbox.height - 10, 4, 10);
      });
      ctx.restore();
    };
  }

  function draw() {
    var source = document.getElementById("trajectory-data");
    var target = document.getElementById("trajectory-chart");
    if (!source || !target || typeof uPlot === "undefined") {
      return;
    }
    var text = source.getAttribute("data-chart");
    if (text === drawn) {
      return;
    }
    drawn = text;
    if (plot) {
      plot.destroy();
      plot = null;
    }
    target.textContent = "";
    var data = JSON.parse(text);
    target.setAttribute("data-drawn", data.computed_at || "");
    var past = data.points.map(function (p) { return [p.at, p.trust, p.uncertainty]; });
    var ahead = data.projection.map(function (p) {
      return [Date.parse(p.at) / 1000, p.trust, p.uncertainty];
    });
    var times = past.map(function (p) { return p[0]; }).concat(ahead.map(function (p) { return p[0]; }));
    if (times.length === 0) {
      target.textContent = target.getAttribute("aria-label");
      return;
    }
    var total = times.length;
    var rows = past.concat(ahead);
    var low = rows.map(function (row) { return Math.max(0, row[1] - row[2] / 2); });
    var high = rows.map(function (row) { return Math.min(1, row[1] + row[2] / 2); });
    var options = {
      width: target.clientWidth || 640,
      height: 320,
      scales: { y: { range: [0, 1] } },
      series: [
        { label: data.labels.time },
        { label: data.labels.trust, stroke: "#0d47a1", width: 2 },
        { label: data.labels.projection, stroke: "#0d47a1", dash: [6, 4], width: 2 },
        { label: data.labels.uncertainty, stroke: "rgba(13, 71, 161, 0.2)" },
        { label: data.labels.uncertainty, stroke: "rgba(13, 71, 161, 0.2)" },
      ],
      bands: [{ series: [4, 3], fill: "rgba(13, 71, 161, 0.12)" }],
      hooks: { draw: [guides(data)] },
    };
    plot = new uPlot(
      options,
      [times, column(past, 1, 0, total), column(ahead, 1, past.length, total), low, high],
      target
    );
  }

  draw();
  document.addEventListener("htmx:afterSettle", draw);
})();
