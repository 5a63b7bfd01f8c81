#!/usr/bin/env node
// ONNX Runtime peer of `make bench`: loads an .onnx, feeds random inputs and
// prints the median latency, timed the way kiln-run --bench times kiln (one
// first run, max(2, N/5) warm-up runs, the median of N timed runs; N chosen
// so the timed runs take about --budget seconds, between 3 and --max-runs).
//
//   node ort_bench.js --ort DIR/node_modules/onnxruntime-node MODEL.onnx
//        [--threads T] [--runs N] [--budget S] [--max-runs N]
//
// Prints `RESULT <runs> <median_ms>`. Float inputs are uniform in [-1, 1),
// integer inputs in [0, 64) (as kiln-run --random-inputs fills them).
'use strict';

function parseArgs(argv) {
  const o = {threads: require('os').cpus().length, runs: 0, budget: 4,
             maxRuns: 50, ort: 'onnxruntime-node', model: null};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--ort') o.ort = next();
    else if (a === '--threads') o.threads = parseInt(next(), 10);
    else if (a === '--runs') o.runs = parseInt(next(), 10);
    else if (a === '--budget') o.budget = parseFloat(next());
    else if (a === '--max-runs') o.maxRuns = parseInt(next(), 10);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.model = a;
  }
  if (!o.model) throw new Error('usage: ort_bench.js --ort DIR MODEL.onnx');
  return o;
}

function randomTensor(ort, meta) {
  const shape = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const n = shape.reduce((a, b) => a * b, 1);
  switch (meta.type) {
    case 'float32': {
      const x = new Float32Array(n);
      for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
      return new ort.Tensor('float32', x, shape);
    }
    case 'float64': {
      const x = new Float64Array(n);
      for (let i = 0; i < n; ++i) x[i] = Math.random() * 2 - 1;
      return new ort.Tensor('float64', x, shape);
    }
    case 'int64': {
      const x = new BigInt64Array(n);
      for (let i = 0; i < n; ++i) x[i] = BigInt(Math.floor(Math.random() * 64));
      return new ort.Tensor('int64', x, shape);
    }
    case 'int32': {
      const x = new Int32Array(n);
      for (let i = 0; i < n; ++i) x[i] = Math.floor(Math.random() * 64);
      return new ort.Tensor('int32', x, shape);
    }
    default:
      throw new Error(`input '${meta.name}': unsupported type ${meta.type}`);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ort = require(o.ort);
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const meta of session.inputMetadata) feeds[meta.name] = randomTensor(ort, meta);
  const once = async () => {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  await once();  // first run
  const probe = await once();
  const runs = o.runs > 0 ? o.runs
      : Math.max(3, Math.min(o.maxRuns, Math.floor(o.budget * 1e3 / Math.max(probe, 1e-6))));
  for (let i = 0; i < Math.max(2, Math.floor(runs / 5)) - 1; ++i) await once();
  const ms = [];
  for (let i = 0; i < runs; ++i) ms.push(await once());
  ms.sort((a, b) => a - b);
  const mid = ms.length >> 1;
  const median = ms.length % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
  console.log(`RESULT ${runs} ${median.toFixed(4)}`);
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message}`);
  process.exit(1);
});
