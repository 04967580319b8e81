// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      'dist/**',
      '.local/**',
      'node_modules/**',
      'coverage/**',
      'test/bench/reports/**',
      'deploy/local/*.mjs',
      'deploy/helm/tools/*.d.mts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Nest types its options objects as classes; literals are how its API is used.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'Use the event-log port (@mx/event-log); only libs/event-log talks to kafkajs.' },
            { name: 'typeorm', message: 'Use @mx/storage (Database and the table modules); only libs/storage talks to TypeORM.' },
            { name: '@nestjs/typeorm', message: 'Use @mx/storage (StorageModule, Database); only libs/storage talks to TypeORM.' },
            { name: 'pg', message: 'Use @mx/storage; only libs/storage talks to PostgreSQL.' },
          ],
        },
      ],
    },
  },
  {
    // The adapters: each library may import the one client it wraps (and tests may use any).
    files: ['libs/event-log/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'typeorm', message: 'Only libs/storage talks to TypeORM.' },
            { name: '@nestjs/typeorm', message: 'Only libs/storage talks to TypeORM.' },
            { name: 'pg', message: 'Only libs/storage talks to PostgreSQL.' },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/storage/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'kafkajs', message: 'Use the event-log port (@mx/event-log); only libs/event-log talks to kafkajs.' }] },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  { files: ['**/*.mjs'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: globals.node } },
  prettier,
);
