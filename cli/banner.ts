import { webhookArn } from '../gateway/config.js';
import type { RunningGateway } from '../gateway/server.js';

export function printBanner(gw: RunningGateway, detail: string, caFile?: string): void {
  const c = gw.rootCredentials;
  const trust = caFile ? ` AWS_CA_BUNDLE='${caFile}'` : '';
  console.log(`
shardgate is ready: ${detail}
  S3 endpoint:   ${gw.url}
  Web console:   ${gw.url}/_shardgate/console/   (sign in with the keys below)
  Access key:    ${c.accessKeyId}
  Secret key:    ${c.secretAccessKey}${c.source === 'generated' ? '   (generated; set SHARDGATE_ROOT_USER/SHARDGATE_ROOT_PASSWORD to choose)' : ''}
  Region:        ${gw.config.region}
  Engine:        ${gw.engineName}${webhooks(gw)}

Try it:
  export AWS_ACCESS_KEY_ID='${c.accessKeyId}' AWS_SECRET_ACCESS_KEY='${c.secretAccessKey}' AWS_DEFAULT_REGION=${gw.config.region}${trust}
  aws --endpoint-url ${gw.url} s3 mb s3://demo
  aws --endpoint-url ${gw.url} s3 cp ./README.md s3://demo/
Press Ctrl-C to stop.`);
}

/** SIGINT/SIGTERM stop everything once; a second signal forces the exit. */
export function onShutdownSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${sig} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${sig}: stopping ...`);
    stop().then(() => process.exit(0), (err: unknown) => {
      console.error('shutdown failed:', err);
      process.exit(1);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** The webhook targets' ARNs, which a bucket's notification configuration names. */
function webhooks(gw: RunningGateway): string {
  const ids = gw.config.notify.webhooks.map((w) => w.id);
  return ids.length ? `\n  Webhooks:      ${ids.map(webhookArn).join(', ')}` : '';
}
