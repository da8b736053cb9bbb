import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'switchyard:public';

/** Marks a route as open without the API key (health probes). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
