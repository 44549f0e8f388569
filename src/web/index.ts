/** The web explorer: browse a survey, find similar galaxies and score anomalies in the browser. See README.md. */
export { createExplorer, serve, isLoopbackHost, type Explorer, type ExplorerOptions, type RunningExplorer } from './explorer.js';
export { Survey, type SurveyOptions, type GridQuery, type GridPage, type QuestionView, type AnswerView } from './survey.js';
export { LabelDesk, type LabelState, type LabelQuestion, type RankedGalaxy } from './labelling.js';
