/** Child process for the kill-and-resume test: runs predictSurvey with the options given as JSON. */
import { predictSurvey } from '../src/predict/index.js';
await predictSurvey(JSON.parse(process.argv[2]));
