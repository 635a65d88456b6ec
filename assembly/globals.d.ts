// Constant introduced by asconfig.json's `use` option: 1 in the debug build, 0 in release builds.
declare const DEBUG: i32;
