/* The dashboard's charts (and the radar's trend), drawn with ECharts from the figures the page embeds (#dashboard-charts). The tables
   beside them hold the same figures, so without this script (or ECharts) nothing is lost. */
(function () {
  "use strict";

  function option(kind, data) {
    var base = {
      animation: false,
      tooltip: { trigger: kind === "lost" ? "item" : "axis", confine: true },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    };
    if (kind === "lost") {
      base.legend = { show: false };
      base.series = [{
        type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}: {c}" },
        data: data.labels.map(function (label, i) { return { name: label, value: data.series[0].data[i] }; }),
      }];
      return base;
    }
    if (kind === "funnel") {
      base.tooltip = { trigger: "item" };
      base.series = [{
        type: "funnel", sort: "none", left: "10%", width: "80%", top: 36, bottom: 8, minSize: "10%",
        label: { position: "inside", formatter: "{b}: {c}" },
        data: data.labels.map(function (label, i) { return { name: label, value: data.series[0].data[i] }; }),
      }];
      return base;
    }
    base.xAxis = { type: "category", data: data.labels, axisLabel: { interval: 0, hideOverlap: true } };
    if (data.counts) {
      // The radar's trend: one line per kind of break; a week without data (null: no recount in it) is a gap.
      base.yAxis = { type: "value", minInterval: 1 };
      base.series = data.series.map(function (series) {
        return { name: series.name, type: "line", connectNulls: false, data: series.data };
      });
      return base;
    }
    if (data.line) {
      // CSAT (1–5) on the left axis, NPS (−100 to 100) on the right.
      base.yAxis = [{ type: "value", min: 0, max: 5 }, { type: "value", min: -100, max: 100 }];
      base.series = data.series.map(function (series) {
        return { name: series.name, type: "line", yAxisIndex: series.axis || 0, connectNulls: true, data: series.data };
      });
      return base;
    }
    base.yAxis = { type: "value" };
    base.series = data.series.map(function (series) {
      return { name: series.name, type: "bar", stack: series.stack, data: series.data };
    });
    return base;
  }

  function draw() {
    var source = document.getElementById("dashboard-charts");
    if (!source || typeof window.echarts === "undefined") return;
    var figures = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      var kind = element.dataset.chart;
      var data = figures[kind];
      if (!data || !data.labels.length || (data.counts && !data.series.length)) {
        element.hidden = true;
        return;
      }
      var chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(option(kind, data));
      element.classList.add("drawn");
      charts.push(chart);
    });
    // Charts follow their box: a phone turned sideways, a window made narrower.
    if (typeof ResizeObserver !== "undefined") {
      var observer = new ResizeObserver(function () { charts.forEach(function (chart) { chart.resize(); }); });
      charts.forEach(function (chart) { observer.observe(chart.getDom()); });
    } else {
      window.addEventListener("resize", function () { charts.forEach(function (chart) { chart.resize(); }); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
