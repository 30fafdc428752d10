package fitness

// Semantics is the version of what an evaluation computes: the scores,
// competence, agreement and feature counts this package (and the behavior
// package it calls) returns for a request. Bump it in the same change as
// anything that alters one bit of a result for some input (an engine
// rule, a feature, a normalisation, the order of a floating-point sum, a
// Go release that changes a math function's output): workers advertise it
// in their evaluation digest, and a run only takes workers of the digest
// it started with, so old and new semantics never mix in one run. Changes
// that leave every result bitwise equal (speed, refactoring) keep it.
const Semantics = 1
