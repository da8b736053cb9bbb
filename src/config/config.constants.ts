/** Key under which the validated configuration is registered with @nestjs/config. */
export const CONFIG_NAMESPACE = 'switchyard';
