//! ELF extraction (placeholder).
