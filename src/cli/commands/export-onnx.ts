import type { Command } from 'commander';
import { exportOnnx } from '../../models/onnx.js';
import { log } from '../util.js';

export function register(program: Command): void {
  program
    .command('export-onnx')
    .description('export a model (base or fine-tuned) to ONNX for ONNX Runtime and other ecosystems; config in the metadata')
    .requiredOption('--model <dir>', 'model directory (config.json, model.json, weights.bin)')
    .requiredOption('--out <file>', 'ONNX file to write, e.g. model.onnx')
    .action(async (o: { model: string; out: string }) => {
      const r = await exportOnnx(o.model, o.out);
      const outputs = Object.entries(r.outputs).map(([k, v]) => `${k} ${v}`).join(', ');
      log(`exported ${o.model} → ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB): input ${r.input}; outputs ${outputs}; config in metadata galmorph.*`);
    });
}
