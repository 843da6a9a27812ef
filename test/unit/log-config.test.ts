/** SHARDGATE_LOG_LEVEL / SHARDGATE_LOG_FORMAT checking, and the pretty form of an access line. */
import { gatewayConfig } from '../../gateway/config.js';
import { logConfig, prettyMessage } from '../../gateway/log.js';

describe('log configuration', () => {
  test('level: info by default, any pino level or silent, case and spaces forgiven', () => {
    expect(logConfig({})).toEqual({ level: 'info', format: undefined });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'silent']) expect(logConfig({ SHARDGATE_LOG_LEVEL: level }).level).toBe(level);
    expect(logConfig({ SHARDGATE_LOG_LEVEL: ' WARN ' }).level).toBe('warn');
  });

  test('an invalid level or format is a one-line configuration error', () => {
    for (const env of [{ SHARDGATE_LOG_LEVEL: 'fatal!' }, { SHARDGATE_LOG_LEVEL: 'verbose' }, { SHARDGATE_LOG_FORMAT: 'xml' }]) {
      let err: unknown;
      try {
        gatewayConfig({}, env, { host: '127.0.0.1', dataDir: '/tmp/x' });
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code).toBe('ERR_CONFIG');
      expect((err as Error).message).toMatch(/^SHARDGATE_LOG_(LEVEL|FORMAT) must be .*, got "[^"\n]+"$/);
    }
  });

  test('format: json or pretty overrides the terminal check', () => {
    expect(logConfig({ SHARDGATE_LOG_FORMAT: 'json' }).format).toBe('json');
    expect(logConfig({ SHARDGATE_LOG_FORMAT: 'Pretty' }).format).toBe('pretty');
  });
});

describe('pretty access line', () => {
  test('says what happened in one line; other messages stay as they are', () => {
    const line = { msg: 'request', req_id: 'A1', operation: 'PutObject', bucket: 'b', key: 'k é', status: 200, bytes_in: 5, bytes_out: 0, duration_ms: 1.25, user: 'AK' };
    expect(prettyMessage(line, 'msg')).toBe('PutObject b/k é 200 in=5 out=0 1.25ms user=AK id=A1');
    expect(prettyMessage({ ...line, status: 499, aborted: true, error: 'RequestTimeout' }, 'msg')).toMatch(/^PutObject b\/k é 499 RequestTimeout \(aborted\) in=/);
    expect(prettyMessage({ ...line, bucket: undefined, key: undefined, path: '/_shardgate/metrics', operation: 'admin:GetMetrics' }, 'msg')).toMatch(/^admin:GetMetrics \/_shardgate\/metrics 200 /);
    expect(prettyMessage({ msg: 'something else' }, 'msg')).toBe('something else');
  });
});
