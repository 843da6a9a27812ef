import { runErasureSuite } from '../../codec/erasure.case.js';
import { RonomonCoder } from '../../codec/ronomon.js';

runErasureSuite({ name: 'ronomon', make: () => new RonomonCoder() });
