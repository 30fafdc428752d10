// Package stream derives independent, reproducible random streams from a
// run seed and a stable key.
//
// Every random draw in mesaopt comes from a stream returned by New: the same
// (seed, keys...) always yields the same sequence on every machine, and two
// different keys yield statistically independent sequences. Nothing here
// reads the clock or shares state between calls, so a stream may be created
// on any goroutine; a single *rand.Rand must still be used by only one
// goroutine at a time.
//
// Keys are built from a Purpose and the numbers that identify the draw
// (generation, individual id, episode index, ...), never from arrival order.
package stream

import "math/rand/v2"

// Purpose names what a stream is used for, so that draws for different
// purposes with otherwise equal keys never share a sequence.
type Purpose uint64

// Purposes used across mesaopt. Values are part of the determinism contract:
// changing one changes every run; append new ones, never renumber.
const (
	PurposeInitialPopulation Purpose = 1 // key: (generation 0)
	PurposeSelection         Purpose = 2 // key: (generation)
	PurposeVariation         Purpose = 3 // key: (generation, child id)
	PurposeInstance          Purpose = 4 // key: (generation, condition hash, episode)
	PurposeRegenerate        Purpose = 5 // key: (instance seed, attempt)
	PurposeLayout            Purpose = 6 // key: (instance seed)
	PurposeAnalysis          Purpose = 7 // key: (episode); the same for every condition (paired instances)
	PurposeIdentity          Purpose = 8 // key: (episode): the identity condition's fresh train instances
	PurposeMixture           Purpose = 9 // key: (condition hash): a training mixture's schedule phase

	// PurposeAudit, key (generation): which genomes a second worker re-evaluates.
	PurposeAudit Purpose = 10
)

// mix is the SplitMix64 finaliser (Steele, Lea and Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014): a bijection on uint64 with
// full avalanche, used to fold keys into a seed.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Derive folds purpose and keys into seed and returns a 64-bit derived seed.
// It is a pure function: equal arguments give equal results everywhere.
func Derive(seed uint64, purpose Purpose, keys ...uint64) uint64 {
	h := mix(seed ^ mix(uint64(purpose)))
	for _, k := range keys {
		h = mix(h ^ mix(k+0x632be59bd9b4e019))
	}
	return h
}

// New returns a PCG stream for (seed, purpose, keys...). The returned
// generator is not safe for concurrent use.
func New(seed uint64, purpose Purpose, keys ...uint64) *rand.Rand {
	d := Derive(seed, purpose, keys...)
	return rand.New(rand.NewPCG(d, mix(d^0xda942042e4dd58b5)))
}

// HashString maps a name (a condition, say) to a stable key, FNV-1a 64.
func HashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}
