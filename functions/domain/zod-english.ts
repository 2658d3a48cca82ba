// zod/mini loads no locale, so every message would read "Invalid input". The
// API's 400 details and the audit schema's errors quote zod's English ones.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
