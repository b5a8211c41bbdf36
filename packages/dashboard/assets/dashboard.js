// gpuci dashboard: draws each metric's chart when its section scrolls into view (uPlot), shows
// the run under the cursor or the keyboard (its commit, linked), and filters the metrics.
// Plain browser JavaScript, no build step; data.js and uPlot.iife.min.js load before it.
(() => {
  const data = window.GPUCI_DASHBOARD;
  const uPlot = window.uPlot;
  const root = document.documentElement;
  if (!data || !uPlot) {
    document.body.insertAdjacentHTML(
      "afterbegin",
      '<p class="refused" role="alert">data.js or uPlot.iife.min.js did not load: keep the files of the site together.</p>',
    );
    return;
  }
  const runs = data.runs;
  const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#0969da", "#bf3989", "#4d2d00"];
  const PR_COLOR = "#9a6700";
  const state = { gpu: "", prs: true };
  const charts = new Map(); // section element -> { plot, xs, metric, pick, prIndex, baseIndex }

  /** 4 significant digits, exponent when very large or small. */
  const fmt = (v) => {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e6 || a < 1e-3)
      ? v.toExponential(2)
      : Number(v.toPrecision(4)).toLocaleString("en-US");
  };
  const esc = (s) =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
    );
  const commitHtml = (c) => {
    const short = `<code>${esc(c.slice(0, 12))}</code>`;
    return data.commitUrl && /^[0-9a-f]{7,64}$/i.test(c)
      ? `<a class="commit" href="${esc(data.commitUrl + c)}">${short}</a>`
      : short;
  };
  const runLists = new Map();
  /** A run list from data.runSets (delta-encoded), decoded once. */
  const runsOf = (i) => {
    let out = runLists.get(i);
    if (!out) {
      const ds = data.runSets[i];
      out = new Array(ds.length);
      let x = 0;
      for (let k = 0; k < ds.length; k++) out[k] = x = k === 0 ? ds[0] : x + ds[k];
      runLists.set(i, out);
    }
    return out;
  };

  /** uPlot's data for a metric: x = run number (1-based, recording order), one y per series. */
  function chartData(metric) {
    const parts = metric.series.map((s) => ({ runs: runsOf(s.runs), values: s.values }));
    if (metric.pr) parts.push({ runs: runsOf(metric.pr.runs), values: metric.pr.values });
    const seen = new Set();
    for (const p of parts) for (const r of p.runs) seen.add(r + 1);
    const xs = Float64Array.from(seen).sort();
    const at = new Map();
    xs.forEach((r, i) => {
      at.set(r, i);
    });
    const ys = parts.map((p) => {
      const y = new Array(xs.length).fill(null);
      p.runs.forEach((r, i) => {
        y[at.get(r + 1)] = p.values[i];
      });
      return y;
    });
    return { xs, ys };
  }

  /** The noise band of each series, painted under the lines. */
  const drawBands = (metric) => (u) => {
    const { ctx } = u;
    ctx.save();
    metric.series.forEach((s, i) => {
      if (!s.band || !u.series[i + 1].show) return;
      const [lo, hi, from] = s.band;
      const x0 = Math.max(u.bbox.left, u.valToPos(from + 1, "x", true));
      const x1 = u.bbox.left + u.bbox.width;
      const y0 = u.valToPos(hi, "y", true);
      const y1 = u.valToPos(lo, "y", true);
      ctx.fillStyle = `${PALETTE[s.gpu % PALETTE.length]}22`;
      ctx.fillRect(x0, y0, Math.max(0, x1 - x0), y1 - y0);
    });
    ctx.restore();
  };

  /** Change points: a dashed line at the first run of each new level. */
  const drawSteps = (metric) => (u) => {
    const { ctx } = u;
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1;
    metric.series.forEach((s, i) => {
      if (!u.series[i + 1].show) return;
      ctx.strokeStyle = PALETTE[s.gpu % PALETTE.length];
      for (const c of s.steps) {
        const x = Math.round(u.valToPos(c.run + 1, "x", true)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
    });
    ctx.restore();
  };

  /** The tip under a chart: the run at the cursor, with its commit, time, branch, GPU and value. */
  function showRun(section, entry, idx) {
    const tip = section.querySelector(".tip");
    if (idx === null || idx === undefined) return;
    const run = entry.xs[idx] - 1;
    const values = entry.plot.data
      .slice(1)
      .map((y, i) => ({ y: y[idx], s: entry.plot.series[i + 1] }))
      .filter((v) => v.y !== null && v.y !== undefined && v.s.show)
      .map((v) => `${esc(v.s.label)}: <b>${esc(fmt(v.y))}${entry.unit ? ` ${esc(entry.unit)}` : ""}</b>`);
    tip.innerHTML = `run ${run + 1} · ${commitHtml(runs.commit[run])} · ${esc(runs.at[run].slice(0, 16).replace("T", " "))} · ${esc(runs.label[run] || "unknown branch")}${values.length ? ` · ${values.join(" · ")}` : ""}`;
    entry.idx = idx;
  }

  function plotOptions(section, width, series, unit, hooks) {
    return {
      width,
      height: 240,
      scales: { x: { time: false } },
      series: [{ label: "run", value: (_u, v) => (v === null ? "—" : `#${v}`) }, ...series],
      axes: [
        { label: "run (recording order)", labelSize: 20 },
        { label: unit || "", size: 64, values: (_u, vals) => vals.map(fmt) },
      ],
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      legend: { live: true },
      hooks: {
        setCursor: [
          (u) => {
            const entry = charts.get(section);
            if (entry && u.cursor.idx !== null && u.cursor.idx !== undefined)
              showRun(section, entry, u.cursor.idx);
          },
        ],
        ...hooks,
      },
    };
  }

  function widthOf(section) {
    return Math.max(280, section.querySelector(".chart").clientWidth);
  }

  function drawMetric(section) {
    const metric = data.metrics[Number(section.dataset.metric)];
    const { xs, ys } = chartData(metric);
    const series = metric.series.map((s) => ({
      label: data.gpus[s.gpu] || "results",
      stroke: PALETTE[s.gpu % PALETTE.length],
      width: 1.5,
      spanGaps: true,
      points: { show: xs.length <= 300, size: 4 },
      show: state.gpu === "" || String(s.gpu) === state.gpu,
    }));
    if (metric.pr)
      series.push({
        label: "pull-request runs",
        stroke: PR_COLOR,
        fill: PR_COLOR,
        paths: () => null,
        points: { show: true, size: 6, stroke: PR_COLOR, fill: PR_COLOR },
        show: state.prs,
      });
    const opts = plotOptions(section, widthOf(section), series, metric.unit, {
      drawClear: [drawBands(metric)],
      draw: [drawSteps(metric)],
    });
    const plot = new uPlot(opts, [xs, ...ys], section.querySelector(".chart"));
    charts.set(section, { plot, xs, unit: metric.unit, metric, idx: null });
  }

  /** Cost per run: one series per GPU and driver for the base-branch runs, and the PR runs. */
  function drawCost(section) {
    const xs = [];
    const gpusPriced = [...new Set(runs.gpu.filter((_g, run) => runs.cost[run] !== null && runs.base[run]))];
    const base = gpusPriced.map(() => []);
    const pr = [];
    runs.cost.forEach((c, run) => {
      if (c === null) return;
      xs.push(run + 1);
      gpusPriced.forEach((g, k) => {
        base[k].push(runs.base[run] && runs.gpu[run] === g ? c : null);
      });
      pr.push(runs.base[run] ? null : c);
    });
    const series = [
      ...gpusPriced.map((g) => ({
        label: `${data.baseBranch}: ${data.gpus[g]}`,
        stroke: PALETTE[g % PALETTE.length],
        width: 1.5,
        spanGaps: true,
        points: { show: xs.length <= 300, size: 4 },
      })),
      {
        label: "pull-request runs",
        stroke: PR_COLOR,
        paths: () => null,
        points: { show: true, size: 5, fill: PR_COLOR },
        show: state.prs,
      },
    ];
    const plot = new uPlot(
      plotOptions(section, widthOf(section), series, "USD", {}),
      [Float64Array.from(xs), ...base, pr],
      section.querySelector(".chart"),
    );
    charts.set(section, { plot, xs, unit: "USD", metric: null, idx: null });
  }

  function draw(section) {
    if (charts.has(section)) return;
    const t0 = performance.now();
    if (section.classList.contains("cost")) drawCost(section);
    else drawMetric(section);
    performance.measure(`gpuci draw ${section.id}`, { start: t0 });
  }

  // Keyboard: a chart takes focus (Tab); the arrows, Home and End step through its runs.
  document.addEventListener("keydown", (event) => {
    const chart = event.target.closest?.(".chart");
    if (!chart) return;
    const section = chart.closest("section");
    const entry = charts.get(section);
    if (!entry || entry.xs.length === 0) return;
    const last = entry.xs.length - 1;
    const cur = entry.idx ?? last;
    const next =
      event.key === "ArrowLeft"
        ? Math.max(0, cur - 1)
        : event.key === "ArrowRight"
          ? Math.min(last, cur + 1)
          : event.key === "Home"
            ? 0
            : event.key === "End"
              ? last
              : undefined;
    if (next === undefined) return;
    event.preventDefault();
    moveCursor(section, entry, next);
  });
  document.addEventListener("focusin", (event) => {
    const chart = event.target.closest?.(".chart");
    if (!chart) return;
    const section = chart.closest("section");
    draw(section);
    const entry = charts.get(section);
    if (entry?.xs.length) moveCursor(section, entry, entry.idx ?? entry.xs.length - 1);
  });
  function moveCursor(section, entry, idx) {
    const { plot } = entry;
    const y = plot.data
      .slice(1)
      .map((ys, i) => (plot.series[i + 1].show ? ys[idx] : null))
      .find((v) => v !== null && v !== undefined);
    plot.setCursor({
      left: plot.valToPos(entry.xs[idx], "x"),
      top: y === undefined ? 0 : plot.valToPos(y, "y"),
    });
    showRun(section, entry, idx);
  }

  // Charts are drawn when their section comes near the viewport: thousands of runs times
  // hundreds of metrics stay interactive.
  let first = true;
  const observer = new IntersectionObserver(
    (items) => {
      for (const item of items) if (item.isIntersecting && !item.target.hidden) draw(item.target);
      if (first) {
        first = false;
        requestAnimationFrame(() => {
          // The first charts are drawn and every handler is attached: the page is interactive.
          performance.mark("gpuci ready");
          root.dataset.ready = "true";
        });
      }
    },
    { rootMargin: "200px 0px" },
  );
  const sections = [...document.querySelectorAll("section.metric, section.cost")];
  for (const s of sections) observer.observe(s);
  if (sections.length === 0) root.dataset.ready = "true";

  // Filters: by name (text or /regex/), by GPU, only metrics with change points, PR runs on/off.
  const search = document.getElementById("search");
  const gpu = document.getElementById("gpu");
  const changed = document.getElementById("changed");
  const prs = document.getElementById("prs");
  const shown = document.getElementById("shown");
  const metricSections = sections.filter((s) => s.classList.contains("metric"));
  function applyFilters() {
    const q = search.value.trim();
    let test = (name) => name.includes(q.toLowerCase());
    search.setCustomValidity("");
    const re = /^\/(.+)\/([a-z]*)$/.exec(q);
    if (re) {
      try {
        const rx = new RegExp(re[1], re[2].includes("i") ? "i" : "");
        test = (_name, id) => rx.test(id);
      } catch {
        search.setCustomValidity("not a regular expression");
      }
    }
    state.gpu = gpu.value;
    state.prs = prs.checked;
    let count = 0;
    for (const s of metricSections) {
      const metric = data.metrics[Number(s.dataset.metric)];
      const visible =
        test(s.dataset.name, metric.id) &&
        (state.gpu === "" || s.dataset.gpus.split(" ").includes(state.gpu)) &&
        (!changed.checked || Number(s.dataset.steps) > 0);
      s.hidden = !visible;
      if (visible) count++;
    }
    for (const [section, entry] of charts) {
      const { plot, metric } = entry;
      plot.series.forEach((ser, i) => {
        if (i === 0) return;
        const isPr = ser.label === "pull-request runs";
        const want = isPr
          ? state.prs
          : !metric || state.gpu === "" || String(metric.series[i - 1].gpu) === state.gpu;
        if (ser.show !== want) plot.setSeries(i, { show: want });
      });
      if (!section.hidden) plot.redraw();
    }
    shown.textContent = `${count} of ${metricSections.length} metrics`;
  }
  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(applyFilters, 120);
  });
  for (const el of [gpu, changed, prs]) el.addEventListener("change", applyFilters);

  let resizeTimer;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [section, entry] of charts) entry.plot.setSize({ width: widthOf(section), height: 240 });
    }, 150);
  });
})();
