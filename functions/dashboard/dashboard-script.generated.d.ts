// The module scripts/build-dashboard.ts writes from functions/dashboard/browser/ (git-ignored).

/** The dashboard's browser code, bundled: the body of the page's one inline script. */
export declare const dashboardScript: string;
