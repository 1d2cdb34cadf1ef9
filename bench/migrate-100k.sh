#!/usr/bin/env bash
# Issue 6's migration target: 100k users moved from the single-file layout to the sharded one by the
# CLI (`telegram-s3-persistence migrate`), verified, with the command's own progress output.
#
#   bash bench/migrate-100k.sh [USERS]      (default 100000; needs the local MinIO: bash infra/minio.sh run)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users=${1:-100000}
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
eval "$(bash infra/minio.sh run | sed 's/^/export /')"
npx tsc -p tsconfig.build.json --outDir .build/cli-dist >/dev/null
prefix="migrate-bench/run-$(date +%s)"
# Seed: one single-file snapshot of $users users of about 200 bytes each, written by the library.
node --input-type=module -e "
  const { S3Persistence } = await import('./.build/cli-dist/index.js');
  const p = new S3Persistence({ filepath: 's3://${S3_BUCKET}/${prefix}', onFlush: true });
  for (let i = 0; i < ${users}; i++) {
    await p.updateUserData(100000000 + i * 7919, { first_name: 'User ' + i, language_code: 'en', count: i % 97,
      notes: ['buy milk', 'call mom'], last_seen: new Date(1700000000000 + i * 1000), settings: { notify: true, theme: 'dark' } });
  }
  await p.updateBotData({ total: ${users} });
  await p.flush();
  console.error('seeded ${users} users at s3://${S3_BUCKET}/${prefix}');
"
start=$(date +%s)
node .build/cli-dist/cli/main.js migrate "s3://${S3_BUCKET}/${prefix}" --to sharded --target "s3://${S3_BUCKET}/${prefix}-sharded" --progress
echo "migration of ${users} users took $(( $(date +%s) - start )) s"
