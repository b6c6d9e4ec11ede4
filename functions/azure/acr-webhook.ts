import type { DependenciesProvider } from './dependencies';
import { httpHandler } from './http';

/**
 * ACR webhooks (`az acr webhook create … --headers "Authorization=Bearer <secret>"`). ACR sends one
 * delivery per geo-replica with the same event id; the history store's duplicate check by event id
 * makes them one transition and one alert.
 */
export const acrWebhookHandler = (getDeps: DependenciesProvider) => httpHandler(getDeps, 'acr');
