import { runErasureSuite } from '../../codec/erasure.case.js';
import { NativeCoder } from '../../codec/native.js';
import { requireNative } from './require-native.js';

runErasureSuite({ name: 'native', make: () => new NativeCoder(requireNative()) });
