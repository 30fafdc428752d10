package lineage

import "errors"

// Errors returned by this package; match them with errors.Is. The returned
// errors wrap these and name the ids or values involved.
var (
	// ErrNotFound: the individual is not in the store (never added, or pruned).
	ErrNotFound = errors.New("lineage: not found")
	// ErrDuplicate: a record with the same ID is already in the store.
	ErrDuplicate = errors.New("lineage: duplicate id")
	// ErrUnknownParent: a record names a parent that is not in the store.
	ErrUnknownParent = errors.New("lineage: unknown parent")
	// ErrInvalid: a value is out of its allowed range (a threshold, a class
	// name, a parent from the same or a later generation).
	ErrInvalid = errors.New("lineage: invalid")
)
