package config

// PinSupported reports whether workers can be pinned to CPUs here.
const PinSupported = true
