// esbuild bundles the style sheet the page imports (main.tsx).
declare module '*.css';
