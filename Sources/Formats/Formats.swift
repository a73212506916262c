// Formats target (placeholder until its first type lands).
enum _FormatsPlaceholder {}
