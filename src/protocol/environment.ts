/** Environment variables the extension sets for the trainers it starts (and a user may set for the CLI). */

/** Folders (a path list) whose node_modules hold the optional native backends, e.g. the GPU one the extension installs. */
export const NATIVE_DIR_ENV = 'GAN_WORKBENCH_NATIVE_DIR';
