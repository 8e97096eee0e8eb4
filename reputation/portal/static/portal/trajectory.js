// The trajectory chart: past trust with its uncertainty, the seven-year projection, the band and
// eligibility thresholds, and a mark on the time axis for each event and step.
(function () {
  var source = document.getElementById("trajectory-data");
  var target = document.getElementById("trajectory-chart");
  if (!source || !target || typeof uPlot === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var past = data.points.map(function (p) { return [p.at, p.trust, p.uncertainty]; });
  var ahead = data.projection.map(function (p) {
    return [Date.parse(p.at) / 1000, p.trust, p.uncertainty];
  });
  var times = past.map(function (p) { return p[0]; }).concat(ahead.map(function (p) { return p[0]; }));
  if (times.length === 0) {
    target.textContent = target.getAttribute("aria-label");
    return;
  }
  function column(rows, index, offset, total) {
    var values = new Array(total).fill(null);
    rows.forEach(function (row, i) { values[offset + i] = row[index]; });
    return values;
  }
  var total = times.length;
  var pastTrust = column(past, 1, 0, total);
  var aheadTrust = column(ahead, 1, past.length, total);
  var low = times.map(function (_, i) {
    var row = i < past.length ? past[i] : ahead[i - past.length];
    return Math.max(0, row[1] - row[2] / 2);
  });
  var high = times.map(function (_, i) {
    var row = i < past.length ? past[i] : ahead[i - past.length];
    return Math.min(1, row[1] + row[2] / 2);
  });
  var marks = data.marks;
  function drawGuides(u) {
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
    marks.forEach(function (mark) {
      var x = u.valToPos(mark.at, "x", true);
      ctx.fillStyle = mark.kind === "event" ? "#c62828" : "#2e7d32";
      ctx.fillRect(x - 2, u.bbox.top + u.bbox.height - 10, 4, 10);
    });
    ctx.restore();
  }
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
    hooks: { draw: [drawGuides] },
  };
  new uPlot(options, [times, pastTrust, aheadTrust, low, high], target);
})();
