import { loadNative, nativeLoadError, type NativeBinding } from '../../codec/native.js';

/** The addon, or a loud failure: a skipped native build must never pass as green. */
export function requireNative(): NativeBinding {
  const binding = loadNative();
  if (!binding) throw new Error(`native addon is missing; run \`npm run build:native\`: ${nativeLoadError()?.message}`);
  return binding;
}
