import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { MatrixErrors } from '@mx/matrix';

function describe(errors: readonly ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...describe(error.children ?? [], path)];
  });
}

/** class-validator for request bodies; a body of the wrong shape is 400 M_BAD_JSON. */
export function matrixValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: false,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => MatrixErrors.badJson(describe(errors).join('; ') || 'Request body has the wrong shape'),
  });
}
