import type { KeyStatus } from './ccr-convert';
import type { MigrationReport } from './ccr-migration';

const MARK: Record<KeyStatus, string> = {
  used: '✓ used',
  switchyard: '✓ kept',
  ignored: '✗ ignored',
  unsupported: '✗ unsupported',
};

/** The human form of `switchyard migrate-config`. */
export function renderMigration(report: MigrationReport): string {
  const out: string[] = [`Claude Code Router config: ${report.source}`, ''];
  if (!report.parsed) {
    out.push('errors:', ...report.errors.map((e) => `  - ${e}`));
    return `${out.join('\n')}\n`;
  }
  const width = Math.max(...report.keys.map((k) => k.key.length), 8);
  out.push('keys:');
  for (const k of report.keys) {
    const where = k.target && k.target !== k.key ? ` → ${k.target}` : '';
    out.push(`  ${k.key.padEnd(width)}  ${MARK[k.status]}${where}: ${k.note}`);
    for (const d of k.details) {
      out.push(`  ${''.padEnd(width)}    ${d}`);
    }
  }
  if (report.fixes.length) {
    out.push('', 'the Switchyard config differs from the source in:', ...report.fixes.map((f) => `  - ${f}`));
  }
  if (report.warnings.length) {
    out.push('', 'warnings:', ...report.warnings.map((w) => `  - ${w}`));
  }
  out.push('');
  if (report.valid) {
    const s = report.summary;
    out.push(
      `validation: OK — Switchyard's loader accepts the converted config` +
        (s ? ` (${s.providers} provider(s), ${s.targets} provider/model target(s))` : ''),
    );
    out.push(
      report.loadsAsIs
        ? '  the source file also loads as it is (SWITCHYARD_CONFIG may point straight at it)'
        : `  the source file does NOT load as it is:\n${report.asIsErrors.map((e) => `    - ${e}`).join('\n')}\n` +
            '  use the converted config',
    );
  } else {
    out.push(
      'validation: FAILED — the converted config does not load:',
      ...report.errors.map((e) => `  - ${e}`),
    );
  }
  if (report.written) {
    out.push(
      '',
      `wrote ${report.written}`,
      `next: switchyard --config ${report.written} start   (or SWITCHYARD_CONFIG=${report.written} switchyard code)`,
    );
  } else if (report.valid) {
    out.push('', 'nothing written: add --write <file> to write the Switchyard config');
  }
  return `${out.join('\n')}\n`;
}
