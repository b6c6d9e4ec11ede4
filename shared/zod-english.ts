import { config } from 'zod/mini';
import { en } from 'zod/v4/locales';

/**
 * Imported for its effect: English messages for zod/mini. The schemas the Lambdas load (the ECR
 * parser, the deployed policy) use mini, which esbuild tree-shakes to about a quarter of classic zod.
 * Classic zod loads English messages when it is imported; mini does not, so a bundle without classic
 * zod would otherwise say only "Invalid input". Mini and classic schemas share zod's core and mix.
 *
 * Modules import `* as z from 'zod/mini'` themselves: re-exporting the namespace from here would
 * make esbuild keep all of zod (every locale, JSON Schema) in the bundle.
 */
config(en());
